//! The SQL both backends share. SQLite and PostgreSQL accept the same `$n` placeholders,
//! `on conflict`, and `returning`, so each query is written once and [`impl_store!`] stamps
//! the repository impls onto a store type holding `pool` (a `sqlx::Pool` of that backend).
//! Backend-specific statements (locking, pragmas) live in `sqlite.rs` / `postgres.rs`.

/// The columns of a channel row, in `rows::ChannelRow`'s order (a macro so `concat!` can splice
/// it into static SQL).
macro_rules! channel_columns {
    () => {
        "channel_id, workspace_id, provider, name, status, config, last_error, created_at, updated_at"
    };
}

/// Inside a write transaction `$tx`: locks the workspace's owners, reads the member (`NotFound`
/// if the user is not one) and, when the change takes an owner away (`$loses_owner` and the
/// member is an owner), refuses with `Conflict { constraint: "last_owner" }` unless another
/// owner remains. Evaluates to the member as it was.
macro_rules! owner_guard {
    ($tx:ident, $workspace_id:expr, $user_id:expr, $loses_owner:expr) => {{
        // Touching the workspace row serializes every owner change of the workspace: on
        // PostgreSQL a second transaction waits here for the row lock (and then counts what this
        // one left); SQLite's write transactions are exclusive already.
        sqlx::query("update workspace set updated_at = updated_at where workspace_id = $1")
            .bind($workspace_id.as_uuid())
            .execute(&mut *$tx)
            .await
            .map_err($crate::store::map_err)?;
        let row: Option<$crate::store::rows::MemberRow> = sqlx::query_as(
            "select workspace_id, user_id, role, created_at from member where workspace_id = $1 and user_id = $2",
        )
        .bind($workspace_id.as_uuid())
        .bind($user_id.as_uuid())
        .fetch_optional(&mut *$tx)
        .await
        .map_err($crate::store::map_err)?;
        let current: switchboard::Member = row.ok_or(switchboard::StoreError::NotFound)?.try_into()?;
        if current.role == switchboard::MemberRole::Owner && $loses_owner {
            let owners: i64 = sqlx::query_scalar("select count(*) from member where workspace_id = $1 and role = 'owner'")
                .bind($workspace_id.as_uuid())
                .fetch_one(&mut *$tx)
                .await
                .map_err($crate::store::map_err)?;
            if owners <= 1 {
                $tx.rollback().await.map_err($crate::store::map_err)?;
                return Err(switchboard::StoreError::Conflict { constraint: "last_owner".to_owned() });
            }
        }
        current
    }};
}

/// Inside a write transaction `$tx`: makes the workspace the user's default when they have none
/// (their first membership, or the first one after leaving their default).
macro_rules! default_if_unset {
    ($tx:ident, $user_id:expr, $workspace_id:expr) => {
        sqlx::query(
            "update user_account set default_workspace_id = $2 where user_id = $1 and default_workspace_id is null",
        )
        .bind($user_id.as_uuid())
        .bind($workspace_id.as_uuid())
        .execute(&mut *$tx)
        .await
        .map_err($crate::store::map_err)?;
    };
}

macro_rules! impl_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl switchboard::store::UserRepo for $store {
            async fn create_user(
                &self,
                user: switchboard::store::NewUser,
            ) -> Result<switchboard::User, switchboard::StoreError> {
                sqlx::query(
                    "insert into user_account (user_id, email, name, password_hash, created_at, updated_at)
                     values ($1, $2, $3, $4, $5, $5)",
                )
                .bind(user.id.as_uuid())
                .bind(user.email.as_str())
                .bind(&user.name)
                .bind(&user.password_hash)
                .bind(user.created_at)
                .execute(&self.pool)
                .await
                .map_err($crate::store::map_err)?;
                Ok(switchboard::User {
                    id: user.id,
                    email: user.email.as_str().to_owned(),
                    name: user.name,
                    created_at: user.created_at,
                })
            }

            async fn user(
                &self,
                id: switchboard::UserId,
            ) -> Result<Option<switchboard::User>, switchboard::StoreError> {
                let row: Option<$crate::store::rows::UserRow> =
                    sqlx::query_as("select user_id, email, name, created_at from user_account where user_id = $1")
                        .bind(id.as_uuid())
                        .fetch_optional(&self.pool)
                        .await
                        .map_err($crate::store::map_err)?;
                Ok(row.map(Into::into))
            }

            async fn user_credentials(
                &self,
                email: &switchboard::validate::Email,
            ) -> Result<Option<(switchboard::User, String)>, switchboard::StoreError> {
                let row: Option<$crate::store::rows::CredentialsRow> = sqlx::query_as(
                    "select user_id, email, name, created_at, password_hash from user_account where email = $1",
                )
                .bind(email.as_str())
                .fetch_optional(&self.pool)
                .await
                .map_err($crate::store::map_err)?;
                Ok(row.map(|r| (r.user.into(), r.password_hash)))
            }

            async fn set_password_hash(
                &self,
                id: switchboard::UserId,
                password_hash: &str,
            ) -> Result<(), switchboard::StoreError> {
                let done = sqlx::query("update user_account set password_hash = $2, updated_at = $3 where user_id = $1")
                    .bind(id.as_uuid())
                    .bind(password_hash)
                    .bind(switchboard::time::now())
                    .execute(&self.pool)
                    .await
                    .map_err($crate::store::map_err)?;
                if done.rows_affected() == 0 { Err(switchboard::StoreError::NotFound) } else { Ok(()) }
            }
        }

        #[async_trait::async_trait]
        impl switchboard::store::WorkspaceRepo for $store {
            async fn create_workspace(
                &self,
                workspace: switchboard::Workspace,
            ) -> Result<switchboard::Workspace, switchboard::StoreError> {
                sqlx::query(
                    "insert into workspace (workspace_id, name, created_at, updated_at) values ($1, $2, $3, $3)",
                )
                .bind(workspace.id.as_uuid())
                .bind(&workspace.name)
                .bind(workspace.created_at)
                .execute(&self.pool)
                .await
                .map_err($crate::store::map_err)?;
                Ok(workspace)
            }

            async fn workspace(
                &self,
                id: switchboard::WorkspaceId,
            ) -> Result<Option<switchboard::Workspace>, switchboard::StoreError> {
                let row: Option<$crate::store::rows::WorkspaceRow> =
                    sqlx::query_as("select workspace_id, name, created_at from workspace where workspace_id = $1")
                        .bind(id.as_uuid())
                        .fetch_optional(&self.pool)
                        .await
                        .map_err($crate::store::map_err)?;
                Ok(row.map(Into::into))
            }

            async fn workspace_by_name(
                &self,
                name: &str,
            ) -> Result<Option<switchboard::Workspace>, switchboard::StoreError> {
                let row: Option<$crate::store::rows::WorkspaceRow> =
                    sqlx::query_as("select workspace_id, name, created_at from workspace where name = $1")
                        .bind(name)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err($crate::store::map_err)?;
                Ok(row.map(Into::into))
            }

            async fn put_member(
                &self,
                workspace_id: switchboard::WorkspaceId,
                user_id: switchboard::UserId,
                role: switchboard::MemberRole,
                at: chrono::DateTime<chrono::Utc>,
            ) -> Result<switchboard::Member, switchboard::StoreError> {
                let mut tx = self.begin_write().await?;
                let row: $crate::store::rows::MemberRow = sqlx::query_as(
                    "insert into member (workspace_id, user_id, role, created_at, updated_at)
                     values ($1, $2, $3, $4, $4)
                     on conflict (workspace_id, user_id) do update set role = excluded.role, updated_at = excluded.updated_at
                     returning workspace_id, user_id, role, created_at",
                )
                .bind(workspace_id.as_uuid())
                .bind(user_id.as_uuid())
                .bind(role.as_str())
                .bind(at)
                .fetch_one(&mut *tx)
                .await
                .map_err($crate::store::map_err)?;
                $crate::store::sql::default_if_unset!(tx, user_id, workspace_id);
                tx.commit().await.map_err($crate::store::map_err)?;
                row.try_into()
            }

            async fn member(
                &self,
                workspace_id: switchboard::WorkspaceId,
                user_id: switchboard::UserId,
            ) -> Result<Option<switchboard::Member>, switchboard::StoreError> {
                let row: Option<$crate::store::rows::MemberRow> = sqlx::query_as(
                    "select workspace_id, user_id, role, created_at from member where workspace_id = $1 and user_id = $2",
                )
                .bind(workspace_id.as_uuid())
                .bind(user_id.as_uuid())
                .fetch_optional(&self.pool)
                .await
                .map_err($crate::store::map_err)?;
                row.map(TryInto::try_into).transpose()
            }

            async fn set_member_role(
                &self,
                workspace_id: switchboard::WorkspaceId,
                user_id: switchboard::UserId,
                role: switchboard::MemberRole,
                at: chrono::DateTime<chrono::Utc>,
            ) -> Result<switchboard::Member, switchboard::StoreError> {
                let mut tx = self.begin_write().await?;
                let current = $crate::store::sql::owner_guard!(tx, workspace_id, user_id, role != switchboard::MemberRole::Owner);
                if current.role == role {
                    tx.rollback().await.map_err($crate::store::map_err)?;
                    return Ok(current);
                }
                let row: $crate::store::rows::MemberRow = sqlx::query_as(
                    "update member set role = $3, updated_at = $4 where workspace_id = $1 and user_id = $2
                     returning workspace_id, user_id, role, created_at",
                )
                .bind(workspace_id.as_uuid())
                .bind(user_id.as_uuid())
                .bind(role.as_str())
                .bind(at)
                .fetch_one(&mut *tx)
                .await
                .map_err($crate::store::map_err)?;
                tx.commit().await.map_err($crate::store::map_err)?;
                row.try_into()
            }

            async fn remove_member(
                &self,
                workspace_id: switchboard::WorkspaceId,
                user_id: switchboard::UserId,
            ) -> Result<switchboard::Member, switchboard::StoreError> {
                let mut tx = self.begin_write().await?;
                let current = $crate::store::sql::owner_guard!(tx, workspace_id, user_id, true);
                sqlx::query("delete from member where workspace_id = $1 and user_id = $2")
                    .bind(workspace_id.as_uuid())
                    .bind(user_id.as_uuid())
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::store::map_err)?;
                // A default the user no longer belongs to would only ever answer 403: forget it.
                sqlx::query(
                    "update user_account set default_workspace_id = null where user_id = $2 and default_workspace_id = $1",
                )
                .bind(workspace_id.as_uuid())
                .bind(user_id.as_uuid())
                .execute(&mut *tx)
                .await
                .map_err($crate::store::map_err)?;
                // Told on the user's own topic: the realtime gateway closes their connections,
                // so subscriptions made while a member end with the membership.
                let payload = serde_json::json!({ "workspace_id": workspace_id, "user_id": user_id });
                let topic = switchboard::Topic::User(user_id);
                let at = switchboard::time::now();
                let event = Self::append_event(&mut tx, workspace_id, topic, switchboard::EventKind::MemberRemoved, payload, None, at).await?;
                tx.commit().await.map_err($crate::store::map_err)?;
                self.listener.committed(std::slice::from_ref(&event));
                Ok(current)
            }

            async fn members(
                &self,
                workspace_id: switchboard::WorkspaceId,
            ) -> Result<Vec<(switchboard::Member, switchboard::User)>, switchboard::StoreError> {
                let rows: Vec<$crate::store::rows::MemberUserRow> = sqlx::query_as(
                    "select m.workspace_id, m.user_id, m.role, m.created_at,
                            u.email, u.name, u.created_at as user_created_at
                     from member m join user_account u on u.user_id = m.user_id
                     where m.workspace_id = $1
                     order by u.email",
                )
                .bind(workspace_id.as_uuid())
                .fetch_all(&self.pool)
                .await
                .map_err($crate::store::map_err)?;
                rows.into_iter()
                    .map(|r| {
                        let user = switchboard::User {
                            id: r.member.user_id.into(),
                            email: r.email,
                            name: r.name,
                            created_at: r.user_created_at,
                        };
                        Ok((r.member.try_into()?, user))
                    })
                    .collect()
            }

            async fn memberships(
                &self,
                user_id: switchboard::UserId,
            ) -> Result<Vec<switchboard::Membership>, switchboard::StoreError> {
                let rows: Vec<$crate::store::rows::MembershipRow> = sqlx::query_as(
                    "select w.workspace_id, w.name, w.created_at, m.role
                     from member m join workspace w on w.workspace_id = m.workspace_id
                     where m.user_id = $1
                     order by w.name",
                )
                .bind(user_id.as_uuid())
                .fetch_all(&self.pool)
                .await
                .map_err($crate::store::map_err)?;
                rows.into_iter()
                    .map(|r| {
                        Ok(switchboard::Membership {
                            role: $crate::store::rows::role(&r.role)?,
                            workspace: r.workspace.into(),
                        })
                    })
                    .collect()
            }

            async fn member_by_email(
                &self,
                workspace_id: switchboard::WorkspaceId,
                email: &switchboard::validate::Email,
            ) -> Result<Option<switchboard::Member>, switchboard::StoreError> {
                let row: Option<$crate::store::rows::MemberRow> = sqlx::query_as(
                    "select m.workspace_id, m.user_id, m.role, m.created_at
                     from member m join user_account u on u.user_id = m.user_id
                     where m.workspace_id = $1 and u.email = $2",
                )
                .bind(workspace_id.as_uuid())
                .bind(email.as_str())
                .fetch_optional(&self.pool)
                .await
                .map_err($crate::store::map_err)?;
                row.map(TryInto::try_into).transpose()
            }

            async fn default_workspace(
                &self,
                user_id: switchboard::UserId,
            ) -> Result<Option<switchboard::WorkspaceId>, switchboard::StoreError> {
                let row: Option<(Option<uuid::Uuid>,)> =
                    sqlx::query_as("select default_workspace_id from user_account where user_id = $1")
                        .bind(user_id.as_uuid())
                        .fetch_optional(&self.pool)
                        .await
                        .map_err($crate::store::map_err)?;
                Ok(row.and_then(|(id,)| id).map(Into::into))
            }

            async fn set_default_workspace(
                &self,
                user_id: switchboard::UserId,
                workspace_id: switchboard::WorkspaceId,
            ) -> Result<(), switchboard::StoreError> {
                let done = sqlx::query(
                    "update user_account set default_workspace_id = $2, updated_at = $3
                     where user_id = $1
                       and exists (select 1 from member m where m.workspace_id = $2 and m.user_id = $1)",
                )
                .bind(user_id.as_uuid())
                .bind(workspace_id.as_uuid())
                .bind(switchboard::time::now())
                .execute(&self.pool)
                .await
                .map_err($crate::store::map_err)?;
                if done.rows_affected() == 0 { Err(switchboard::StoreError::NotFound) } else { Ok(()) }
            }
        }

        #[async_trait::async_trait]
        impl switchboard::store::SessionRepo for $store {
            async fn create_session(
                &self,
                session: switchboard::Session,
            ) -> Result<switchboard::Session, switchboard::StoreError> {
                sqlx::query(
                    "insert into session (session_id, user_id, created_at, expires_at, revoked_at)
                     values ($1, $2, $3, $4, $5)",
                )
                .bind(session.id.as_uuid())
                .bind(session.user_id.as_uuid())
                .bind(session.created_at)
                .bind(session.expires_at)
                .bind(session.revoked_at)
                .execute(&self.pool)
                .await
                .map_err($crate::store::map_err)?;
                Ok(session)
            }

            async fn session(
                &self,
                id: switchboard::SessionId,
            ) -> Result<Option<switchboard::Session>, switchboard::StoreError> {
                let row: Option<$crate::store::rows::SessionRow> = sqlx::query_as(
                    "select session_id, user_id, created_at, expires_at, revoked_at from session where session_id = $1",
                )
                .bind(id.as_uuid())
                .fetch_optional(&self.pool)
                .await
                .map_err($crate::store::map_err)?;
                Ok(row.map(Into::into))
            }

            async fn revoke_session(
                &self,
                id: switchboard::SessionId,
                at: chrono::DateTime<chrono::Utc>,
            ) -> Result<bool, switchboard::StoreError> {
                let done = sqlx::query("update session set revoked_at = $2 where session_id = $1 and revoked_at is null")
                    .bind(id.as_uuid())
                    .bind(at)
                    .execute(&self.pool)
                    .await
                    .map_err($crate::store::map_err)?;
                Ok(done.rows_affected() > 0)
            }

            async fn delete_expired_sessions(
                &self,
                before: chrono::DateTime<chrono::Utc>,
            ) -> Result<u64, switchboard::StoreError> {
                let done = sqlx::query("delete from session where expires_at < $1")
                    .bind(before)
                    .execute(&self.pool)
                    .await
                    .map_err($crate::store::map_err)?;
                Ok(done.rows_affected())
            }

            async fn active_sessions(
                &self,
                user_id: switchboard::UserId,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<Vec<switchboard::Session>, switchboard::StoreError> {
                let rows: Vec<$crate::store::rows::SessionRow> = sqlx::query_as(
                    "select session_id, user_id, created_at, expires_at, revoked_at from session
                     where user_id = $1 and revoked_at is null and expires_at > $2
                     order by created_at desc, session_id desc",
                )
                .bind(user_id.as_uuid())
                .bind(now)
                .fetch_all(&self.pool)
                .await
                .map_err($crate::store::map_err)?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn revoke_user_sessions(
                &self,
                user_id: switchboard::UserId,
                keep: Option<switchboard::SessionId>,
                at: chrono::DateTime<chrono::Utc>,
            ) -> Result<u64, switchboard::StoreError> {
                // A nil id never names a session: "keep nothing".
                let keep = keep.map_or(uuid::Uuid::nil(), |k| k.as_uuid());
                let done = sqlx::query(
                    "update session set revoked_at = $3
                     where user_id = $1 and session_id <> $2 and revoked_at is null and expires_at > $3",
                )
                .bind(user_id.as_uuid())
                .bind(keep)
                .bind(at)
                .execute(&self.pool)
                .await
                .map_err($crate::store::map_err)?;
                Ok(done.rows_affected())
            }

            async fn change_password(
                &self,
                user_id: switchboard::UserId,
                password_hash: &str,
                keep: switchboard::SessionId,
                at: chrono::DateTime<chrono::Utc>,
            ) -> Result<u64, switchboard::StoreError> {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query("update user_account set password_hash = $2, updated_at = $3 where user_id = $1")
                    .bind(user_id.as_uuid())
                    .bind(password_hash)
                    .bind(at)
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::store::map_err)?;
                if done.rows_affected() == 0 {
                    tx.rollback().await.map_err($crate::store::map_err)?;
                    return Err(switchboard::StoreError::NotFound);
                }
                let revoked = sqlx::query(
                    "update session set revoked_at = $3
                     where user_id = $1 and session_id <> $2 and revoked_at is null and expires_at > $3",
                )
                .bind(user_id.as_uuid())
                .bind(keep.as_uuid())
                .bind(at)
                .execute(&mut *tx)
                .await
                .map_err($crate::store::map_err)?;
                tx.commit().await.map_err($crate::store::map_err)?;
                Ok(revoked.rows_affected())
            }
        }

        #[async_trait::async_trait]
        impl switchboard::store::ChannelRepo for $store {
            async fn create_channel(
                &self,
                channel: switchboard::Channel,
            ) -> Result<switchboard::Channel, switchboard::StoreError> {
                sqlx::query(
                    "insert into channel (channel_id, workspace_id, provider, name, status, config, last_error, created_at, updated_at)
                     values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(channel.id.as_uuid())
                .bind(channel.workspace_id.as_uuid())
                .bind(channel.provider.as_str())
                .bind(&channel.name)
                .bind(channel.status.as_str())
                .bind(sqlx::types::Json(&channel.config))
                .bind(&channel.last_error)
                .bind(channel.created_at)
                .bind(channel.updated_at)
                .execute(&self.pool)
                .await
                .map_err($crate::store::map_err)?;
                Ok(channel)
            }

            async fn channel(
                &self,
                workspace_id: switchboard::WorkspaceId,
                id: switchboard::ChannelId,
            ) -> Result<Option<switchboard::Channel>, switchboard::StoreError> {
                let row: Option<$crate::store::rows::ChannelRow> = sqlx::query_as(
                    concat!("select ", channel_columns!(), "
                     from channel where workspace_id = $1 and channel_id = $2"),
                )
                .bind(workspace_id.as_uuid())
                .bind(id.as_uuid())
                .fetch_optional(&self.pool)
                .await
                .map_err($crate::store::map_err)?;
                row.map(TryInto::try_into).transpose()
            }

            async fn channels(
                &self,
                workspace_id: switchboard::WorkspaceId,
            ) -> Result<Vec<switchboard::Channel>, switchboard::StoreError> {
                let rows: Vec<$crate::store::rows::ChannelRow> = sqlx::query_as(
                    concat!("select ", channel_columns!(), "
                     from channel where workspace_id = $1 order by channel_id"),
                )
                .bind(workspace_id.as_uuid())
                .fetch_all(&self.pool)
                .await
                .map_err($crate::store::map_err)?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn update_channel(
                &self,
                workspace_id: switchboard::WorkspaceId,
                id: switchboard::ChannelId,
                name: Option<String>,
                config: Option<serde_json::Value>,
                at: chrono::DateTime<chrono::Utc>,
            ) -> Result<switchboard::Channel, switchboard::StoreError> {
                let row: Option<$crate::store::rows::ChannelRow> = sqlx::query_as(
                    concat!("update channel set name = coalesce($3, name), config = coalesce($4, config), updated_at = $5
                     where workspace_id = $1 and channel_id = $2
                     returning ", channel_columns!()),
                )
                .bind(workspace_id.as_uuid())
                .bind(id.as_uuid())
                .bind(name)
                .bind(config.map(sqlx::types::Json))
                .bind(at)
                .fetch_optional(&self.pool)
                .await
                .map_err($crate::store::map_err)?;
                row.ok_or(switchboard::StoreError::NotFound)?.try_into()
            }

            async fn delete_channel(
                &self,
                workspace_id: switchboard::WorkspaceId,
                id: switchboard::ChannelId,
            ) -> Result<bool, switchboard::StoreError> {
                let done = sqlx::query("delete from channel where workspace_id = $1 and channel_id = $2")
                    .bind(workspace_id.as_uuid())
                    .bind(id.as_uuid())
                    .execute(&self.pool)
                    .await
                    .map_err($crate::store::map_err)?;
                Ok(done.rows_affected() > 0)
            }

            async fn set_channel_status(
                &self,
                workspace_id: switchboard::WorkspaceId,
                id: switchboard::ChannelId,
                status: switchboard::ChannelStatus,
                last_error: Option<String>,
                at: chrono::DateTime<chrono::Utc>,
            ) -> Result<switchboard::Channel, switchboard::StoreError> {
                let mut tx = self.begin_write().await?;
                // Not a change: no write and no event (runtimes re-assert their status freely).
                let current: Option<$crate::store::rows::ChannelRow> = sqlx::query_as(concat!(
                    "select ", channel_columns!(), " from channel where workspace_id = $1 and channel_id = $2"
                ))
                .bind(workspace_id.as_uuid())
                .bind(id.as_uuid())
                .fetch_optional(&mut *tx)
                .await
                .map_err($crate::store::map_err)?;
                let current: switchboard::Channel = current.ok_or(switchboard::StoreError::NotFound)?.try_into()?;
                if current.status == status && current.last_error == last_error {
                    tx.rollback().await.map_err($crate::store::map_err)?;
                    return Ok(current);
                }
                let row: Option<$crate::store::rows::ChannelRow> = sqlx::query_as(
                    concat!("update channel set status = $3, last_error = $4, updated_at = $5
                     where workspace_id = $1 and channel_id = $2
                     returning ", channel_columns!()),
                )
                .bind(workspace_id.as_uuid())
                .bind(id.as_uuid())
                .bind(status.as_str())
                .bind(last_error)
                .bind(at)
                .fetch_optional(&mut *tx)
                .await
                .map_err($crate::store::map_err)?;
                let channel: switchboard::Channel = row.ok_or(switchboard::StoreError::NotFound)?.try_into()?;
                // The change is an event on the workspace's inbox topic, in the same transaction.
                let payload = serde_json::json!({
                    "channel_id": channel.id,
                    "status": channel.status,
                    "last_error": channel.last_error,
                });
                let topic = switchboard::Topic::Inbox(workspace_id);
                let event = Self::append_event(&mut tx, workspace_id, topic, switchboard::EventKind::ChannelStatus, payload, None, at).await?;
                tx.commit().await.map_err($crate::store::map_err)?;
                self.listener.committed(std::slice::from_ref(&event));
                Ok(channel)
            }

            async fn set_channel_credentials(
                &self,
                workspace_id: switchboard::WorkspaceId,
                id: switchboard::ChannelId,
                sealed: Option<Vec<u8>>,
                at: chrono::DateTime<chrono::Utc>,
            ) -> Result<(), switchboard::StoreError> {
                let done = sqlx::query(
                    "update channel set credentials = $3, updated_at = $4 where workspace_id = $1 and channel_id = $2",
                )
                .bind(workspace_id.as_uuid())
                .bind(id.as_uuid())
                .bind(sealed)
                .bind(at)
                .execute(&self.pool)
                .await
                .map_err($crate::store::map_err)?;
                if done.rows_affected() == 0 { Err(switchboard::StoreError::NotFound) } else { Ok(()) }
            }

            async fn channel_credentials(
                &self,
                workspace_id: switchboard::WorkspaceId,
                id: switchboard::ChannelId,
            ) -> Result<Option<Vec<u8>>, switchboard::StoreError> {
                let row: Option<(Option<Vec<u8>>,)> =
                    sqlx::query_as("select credentials from channel where workspace_id = $1 and channel_id = $2")
                        .bind(workspace_id.as_uuid())
                        .bind(id.as_uuid())
                        .fetch_optional(&self.pool)
                        .await
                        .map_err($crate::store::map_err)?;
                row.map(|(c,)| c).ok_or(switchboard::StoreError::NotFound)
            }

            async fn channel_for_webhook(
                &self,
                id: switchboard::ChannelId,
            ) -> Result<Option<switchboard::Channel>, switchboard::StoreError> {
                let row: Option<$crate::store::rows::ChannelRow> =
                    sqlx::query_as(concat!("select ", channel_columns!(), " from channel where channel_id = $1"))
                        .bind(id.as_uuid())
                        .fetch_optional(&self.pool)
                        .await
                        .map_err($crate::store::map_err)?;
                row.map(TryInto::try_into).transpose()
            }

            async fn channels_with_status(
                &self,
                statuses: &[switchboard::ChannelStatus],
            ) -> Result<Vec<switchboard::Channel>, switchboard::StoreError> {
                let mut out = Vec::new();
                for status in statuses {
                    let rows: Vec<$crate::store::rows::ChannelRow> = sqlx::query_as(
                        concat!("select ", channel_columns!(), "
                         from channel where status = $1"),
                    )
                    .bind(status.as_str())
                    .fetch_all(&self.pool)
                    .await
                    .map_err($crate::store::map_err)?;
                    for row in rows {
                        out.push(row.try_into()?);
                    }
                }
                out.sort_by_key(|c: &switchboard::Channel| c.id);
                Ok(out)
            }
        }

        #[async_trait::async_trait]
        impl switchboard::Store for $store {
            fn backend(&self) -> switchboard::store::Backend {
                Self::BACKEND
            }

            async fn readiness(&self) -> Result<(), switchboard::StoreError> {
                let applied: Vec<i64> =
                    match sqlx::query_scalar("select version from _sqlx_migrations where success = true")
                        .fetch_all(&self.pool)
                        .await
                    {
                        Ok(applied) => applied,
                        Err(sqlx::Error::Database(e)) => {
                            return Err(switchboard::StoreError::NotMigrated(e.message().to_owned()));
                        }
                        Err(e) => return Err($crate::store::map_err(e)),
                    };
                $crate::store::check_applied(Self::migrator(), &applied)
            }
        }
    };
}

pub(crate) use channel_columns;
pub(crate) use default_if_unset;
pub(crate) use impl_store;
pub(crate) use owner_guard;
