//! The notifications port: each person's settings and browser push subscriptions.

use async_trait::async_trait;

use super::StoreError;
use crate::ids::UserId;
use crate::notify::{NotificationSettings, PushSubscription};

#[async_trait]
pub trait NotifyRepo: Send + Sync {
    /// A person's settings (the defaults until they save some).
    async fn notification_settings(&self, user_id: UserId) -> Result<NotificationSettings, StoreError>;
    async fn put_notification_settings(
        &self,
        user_id: UserId,
        settings: &NotificationSettings,
    ) -> Result<(), StoreError>;
    /// Keeps a subscription for the person (the same endpoint again replaces its keys and owner).
    async fn add_push_subscription(
        &self,
        user_id: UserId,
        subscription: &PushSubscription,
    ) -> Result<(), StoreError>;
    /// Forgets a subscription of the person's (`Ok(false)`: none); `user_id` none: whoever's
    /// (the push service said it is gone).
    async fn remove_push_subscription(
        &self,
        user_id: Option<UserId>,
        endpoint: &str,
    ) -> Result<bool, StoreError>;
    /// A person's subscriptions.
    async fn push_subscriptions(&self, user_id: UserId) -> Result<Vec<PushSubscription>, StoreError>;
}
