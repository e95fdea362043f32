//! Notifications for agents: what each person wants to hear about (their settings) and the
//! browser push subscriptions that carry it when no tab is open.

use chrono::{DateTime, Timelike, Utc};
use serde::{Deserialize, Serialize};

use crate::validate::ValidationError;

/// What a person is notified of, and when not. Every field has a default, so a partial body
/// keeps the rest as it was defaulted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct NotificationSettings {
    /// New customer messages in conversations assigned to them.
    pub assigned: bool,
    /// New customer messages in conversations nobody has.
    pub unassigned: bool,
    /// Messages and notes that mention them.
    pub mentions: bool,
    /// A sound with browser notifications.
    pub sound: bool,
    /// Do not disturb: no push in this daily window.
    pub quiet_hours: Option<QuietHours>,
}

impl Default for NotificationSettings {
    fn default() -> Self {
        Self { assigned: true, unassigned: true, mentions: true, sound: true, quiet_hours: None }
    }
}

/// A daily window, in minutes after midnight of the person's clock (`utc_offset_minutes` from
/// UTC); `start` after `end` spans midnight.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct QuietHours {
    pub start_minute: u16,
    pub end_minute: u16,
    pub utc_offset_minutes: i16,
}

impl NotificationSettings {
    /// The settings checked: minutes within a day, an offset within ±14 hours.
    pub fn validate(&self) -> Result<(), ValidationError> {
        if let Some(q) = self.quiet_hours {
            if q.start_minute >= 1440 || q.end_minute >= 1440 {
                return Err(ValidationError::new("quiet_hours", "minutes are 0 to 1439 after midnight"));
            }
            if q.utc_offset_minutes.abs() > 14 * 60 {
                return Err(ValidationError::new("quiet_hours", "the offset from UTC is at most 14 hours"));
            }
        }
        Ok(())
    }

    /// Whether `at` falls in the quiet hours.
    pub fn quiet_at(&self, at: DateTime<Utc>) -> bool {
        let Some(q) = self.quiet_hours else { return false };
        let utc = (at.hour() * 60 + at.minute()) as i32;
        let local = (utc + i32::from(q.utc_offset_minutes)).rem_euclid(1440) as u16;
        match q.start_minute.cmp(&q.end_minute) {
            std::cmp::Ordering::Less => (q.start_minute..q.end_minute).contains(&local),
            std::cmp::Ordering::Greater => local >= q.start_minute || local < q.end_minute,
            std::cmp::Ordering::Equal => false,
        }
    }
}

/// A browser's push subscription (`PushSubscription.toJSON()`'s shape).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushSubscription {
    pub endpoint: String,
    pub keys: PushKeys,
}

/// The subscription's keys, base64url: the browser's P-256 public key and its auth secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushKeys {
    pub p256dh: String,
    pub auth: String,
}

/// `GET /api/v1/push/public-key`: what `pushManager.subscribe` takes as `applicationServerKey`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushPublicKey {
    pub public_key: String,
}

/// What a push carries (JSON, encrypted): a title and a line, where a click goes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushPayload {
    pub title: String,
    pub body: String,
    /// The page to open (`/inbox?c=…`).
    pub url: String,
    /// How many messages it stands for.
    pub count: u32,
}

/// The title of a batch: "New message from Maria", "3 new messages from Maria", or
/// "5 new messages in 2 conversations".
pub fn batch_title(count: u32, conversations: &[String]) -> String {
    match (count, conversations) {
        (1, [one]) => format!("New message from {one}"),
        (n, [one]) => format!("{n} new messages from {one}"),
        (n, many) => format!("{n} new messages in {} conversations", many.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_hours_span_midnight_in_the_persons_time() {
        let at = |h: u32, m: u32| {
            chrono::NaiveDate::from_ymd_opt(2026, 12, 4).unwrap().and_hms_opt(h, m, 0).unwrap().and_utc()
        };
        let night = NotificationSettings {
            quiet_hours: Some(QuietHours {
                start_minute: 22 * 60,
                end_minute: 7 * 60,
                utc_offset_minutes: 60,
            }),
            ..Default::default()
        };
        assert!(night.quiet_at(at(21, 30)), "22:30 local");
        assert!(night.quiet_at(at(5, 59)), "06:59 local");
        assert!(!night.quiet_at(at(6, 0)), "07:00 local");
        assert!(!night.quiet_at(at(12, 0)));
        assert!(!NotificationSettings::default().quiet_at(at(3, 0)));
        let bad = NotificationSettings {
            quiet_hours: Some(QuietHours { start_minute: 1440, end_minute: 0, utc_offset_minutes: 0 }),
            ..Default::default()
        };
        assert!(bad.validate().is_err());
    }

    #[test]
    fn batches_are_titled_by_who_and_how_many() {
        assert_eq!(batch_title(1, &["Maria".into()]), "New message from Maria");
        assert_eq!(batch_title(3, &["Maria".into()]), "3 new messages from Maria");
        assert_eq!(batch_title(5, &["Maria".into(), "Bo".into()]), "5 new messages in 2 conversations");
    }
}
