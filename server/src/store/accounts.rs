//! Accounts: users and their credentials, workspaces and their members, sign-in sessions.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::{Json, Uuid};
use sqlx::{ColumnIndex, Encode, Executor, Transaction, Type};
use switchboard::store::{NewUser, SessionRepo, StoreError, UserRepo, WorkspaceRepo};
use switchboard::validate::Email;
use switchboard::{Member, MemberRole, Membership, Session, SessionId, User, UserId, Workspace, WorkspaceId};

use super::backend::{Backend, Bind, Column, RowsAffected, SqlStore};
use super::{abort, map_err, rows};

#[async_trait]
impl<D: Backend> UserRepo for SqlStore<D>
where
    for<'c> &'c mut D::Connection: Executor<'c, Database = D>,
    for<'a> &'a str: ColumnIndex<D::Row> + Encode<'a, D>,
    str: Type<D>,
    usize: ColumnIndex<D::Row>,
    Uuid: Column<D>,
    String: Column<D>,
    i64: Column<D>,
    i32: Column<D>,
    DateTime<Utc>: Column<D>,
    Json<Value>: Column<D>,
    Option<String>: Bind<D>,
    for<'a> Option<&'a str>: Encode<'a, D>,
    Option<DateTime<Utc>>: Bind<D>,
    for<'a> Json<&'a Value>: Encode<'a, D> + Type<D>,
{
    async fn create_user(&self, user: NewUser) -> Result<User, StoreError> {
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
        .map_err(map_err)?;
        Ok(User {
            id: user.id,
            email: user.email.as_str().to_owned(),
            name: user.name,
            created_at: user.created_at,
        })
    }

    async fn user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        let row: Option<rows::UserRow> =
            sqlx::query_as("select user_id, email, name, created_at from user_account where user_id = $1")
                .bind(id.as_uuid())
                .fetch_optional(&self.pool)
                .await
                .map_err(map_err)?;
        Ok(row.map(Into::into))
    }

    async fn user_credentials(&self, email: &Email) -> Result<Option<(User, String)>, StoreError> {
        let row: Option<rows::CredentialsRow> = sqlx::query_as(
            // Only people sign in: app users and API keys have reserved addresses and no password.
            "select user_id, email, name, created_at, password_hash from user_account
             where email = $1 and kind = 'staff'",
        )
        .bind(email.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(row.map(|r| (r.user.into(), r.password_hash)))
    }

    async fn set_password_hash(&self, id: UserId, password_hash: &str) -> Result<(), StoreError> {
        let done =
            sqlx::query("update user_account set password_hash = $2, updated_at = $3 where user_id = $1")
                .bind(id.as_uuid())
                .bind(password_hash)
                .bind(switchboard::time::now())
                .execute(&self.pool)
                .await
                .map_err(map_err)?;
        if done.rows_affected() == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }
}

#[async_trait]
impl<D: Backend> WorkspaceRepo for SqlStore<D>
where
    for<'c> &'c mut D::Connection: Executor<'c, Database = D>,
    for<'a> &'a str: ColumnIndex<D::Row> + Encode<'a, D>,
    str: Type<D>,
    usize: ColumnIndex<D::Row>,
    Uuid: Column<D>,
    String: Column<D>,
    i64: Column<D>,
    i32: Column<D>,
    DateTime<Utc>: Column<D>,
    Json<Value>: Column<D>,
    Option<String>: Bind<D>,
    for<'a> Option<&'a str>: Encode<'a, D>,
    Option<DateTime<Utc>>: Bind<D>,
    for<'a> Json<&'a Value>: Encode<'a, D> + Type<D>,
{
    async fn create_workspace(&self, workspace: Workspace) -> Result<Workspace, StoreError> {
        sqlx::query(
            "insert into workspace (workspace_id, name, created_at, updated_at) values ($1, $2, $3, $3)",
        )
        .bind(workspace.id.as_uuid())
        .bind(&workspace.name)
        .bind(workspace.created_at)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(workspace)
    }

    async fn workspace(&self, id: WorkspaceId) -> Result<Option<Workspace>, StoreError> {
        let row: Option<rows::WorkspaceRow> =
            sqlx::query_as("select workspace_id, name, created_at from workspace where workspace_id = $1")
                .bind(id.as_uuid())
                .fetch_optional(&self.pool)
                .await
                .map_err(map_err)?;
        Ok(row.map(Into::into))
    }

    async fn workspace_by_name(&self, name: &str) -> Result<Option<Workspace>, StoreError> {
        let row: Option<rows::WorkspaceRow> =
            sqlx::query_as("select workspace_id, name, created_at from workspace where name = $1")
                .bind(name)
                .fetch_optional(&self.pool)
                .await
                .map_err(map_err)?;
        Ok(row.map(Into::into))
    }

    async fn put_member(
        &self,
        workspace_id: WorkspaceId,
        user_id: UserId,
        role: MemberRole,
        at: DateTime<Utc>,
    ) -> Result<Member, StoreError> {
        let mut tx = self.begin_write().await?;
        let known: Option<(Uuid,)> =
            sqlx::query_as("select user_id from member where workspace_id = $1 and user_id = $2")
                .bind(workspace_id.as_uuid())
                .bind(user_id.as_uuid())
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_err)?;
        let row: rows::MemberRow = sqlx::query_as(
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
        .map_err(map_err)?;
        default_if_unset(&mut tx, user_id, workspace_id).await?;
        if known.is_none() {
            start_read_positions(&mut tx, user_id, workspace_id, at).await?;
        }
        tx.commit().await.map_err(map_err)?;
        row.try_into()
    }

    async fn member(&self, workspace_id: WorkspaceId, user_id: UserId) -> Result<Option<Member>, StoreError> {
        let row: Option<rows::MemberRow> = sqlx::query_as(
            "select workspace_id, user_id, role, created_at from member where workspace_id = $1 and user_id = $2",
        )
        .bind(workspace_id.as_uuid())
        .bind(user_id.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.map(TryInto::try_into).transpose()
    }

    async fn set_member_role(
        &self,
        workspace_id: WorkspaceId,
        user_id: UserId,
        role: MemberRole,
        at: DateTime<Utc>,
    ) -> Result<Member, StoreError> {
        let mut tx = self.begin_write().await?;
        let current = match owner_guard(&mut tx, workspace_id, user_id, role != MemberRole::Owner).await {
            Ok(current) => current,
            Err(err) => return abort(tx, err).await,
        };
        if current.role == role {
            tx.rollback().await.map_err(map_err)?;
            return Ok(current);
        }
        let row: rows::MemberRow = sqlx::query_as(
            "update member set role = $3, updated_at = $4 where workspace_id = $1 and user_id = $2
             returning workspace_id, user_id, role, created_at",
        )
        .bind(workspace_id.as_uuid())
        .bind(user_id.as_uuid())
        .bind(role.as_str())
        .bind(at)
        .fetch_one(&mut *tx)
        .await
        .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        row.try_into()
    }

    async fn remove_member(&self, workspace_id: WorkspaceId, user_id: UserId) -> Result<Member, StoreError> {
        let mut tx = self.begin_write().await?;
        let current = match owner_guard(&mut tx, workspace_id, user_id, true).await {
            Ok(current) => current,
            Err(err) => return abort(tx, err).await,
        };
        sqlx::query("delete from member where workspace_id = $1 and user_id = $2")
            .bind(workspace_id.as_uuid())
            .bind(user_id.as_uuid())
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        // A default the user no longer belongs to would only ever answer 403: forget it.
        sqlx::query(
            "update user_account set default_workspace_id = null where user_id = $2 and default_workspace_id = $1",
        )
        .bind(workspace_id.as_uuid())
        .bind(user_id.as_uuid())
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        // Told on the user's own topic: the realtime gateway closes their connections,
        // so subscriptions made while a member end with the membership.
        let body = switchboard::EventBody::MemberRemoved(switchboard::event::MemberRemoved {
            workspace_id,
            user_id,
        });
        let topic = switchboard::Topic::User(user_id);
        let at = switchboard::time::now();
        let event = Self::append_event(&mut tx, workspace_id, topic, body, None, at).await?;
        tx.commit().await.map_err(map_err)?;
        self.listener.committed(std::slice::from_ref(&event));
        Ok(current)
    }

    async fn members(&self, workspace_id: WorkspaceId) -> Result<Vec<(Member, User)>, StoreError> {
        let rows: Vec<rows::MemberUserRow> = sqlx::query_as(
            "select m.workspace_id, m.user_id, m.role, m.created_at,
                    u.email, u.name, u.created_at as user_created_at
             from member m join user_account u on u.user_id = m.user_id
             where m.workspace_id = $1 and u.kind = 'staff'
             order by u.email",
        )
        .bind(workspace_id.as_uuid())
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.into_iter()
            .map(|r| {
                let user = User {
                    id: r.member.user_id.into(),
                    email: r.email,
                    name: r.name,
                    created_at: r.user_created_at,
                };
                Ok((r.member.try_into()?, user))
            })
            .collect()
    }

    async fn memberships(&self, user_id: UserId) -> Result<Vec<Membership>, StoreError> {
        let rows: Vec<rows::MembershipRow> = sqlx::query_as(
            // An app user belongs to their app's workspace, as role `user`, while active.
            "select w.workspace_id, w.name, w.created_at, m.role
             from member m join workspace w on w.workspace_id = m.workspace_id
             where m.user_id = $1
             union all
             select w.workspace_id, w.name, w.created_at, 'user' as role
             from app_user a join workspace w on w.workspace_id = a.workspace_id
             where a.user_id = $1 and a.deactivated_at is null
             order by name",
        )
        .bind(user_id.as_uuid())
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.into_iter()
            .map(|r| Ok(Membership { role: rows::role(&r.role)?, workspace: r.workspace.into() }))
            .collect()
    }

    async fn member_by_email(
        &self,
        workspace_id: WorkspaceId,
        email: &Email,
    ) -> Result<Option<Member>, StoreError> {
        let row: Option<rows::MemberRow> = sqlx::query_as(
            "select m.workspace_id, m.user_id, m.role, m.created_at
             from member m join user_account u on u.user_id = m.user_id
             where m.workspace_id = $1 and u.email = $2",
        )
        .bind(workspace_id.as_uuid())
        .bind(email.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.map(TryInto::try_into).transpose()
    }

    async fn default_workspace(&self, user_id: UserId) -> Result<Option<WorkspaceId>, StoreError> {
        let row: Option<(Option<Uuid>,)> =
            sqlx::query_as("select default_workspace_id from user_account where user_id = $1")
                .bind(user_id.as_uuid())
                .fetch_optional(&self.pool)
                .await
                .map_err(map_err)?;
        Ok(row.and_then(|(id,)| id).map(Into::into))
    }

    async fn set_default_workspace(
        &self,
        user_id: UserId,
        workspace_id: WorkspaceId,
    ) -> Result<(), StoreError> {
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
        .map_err(map_err)?;
        if done.rows_affected() == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }
}

#[async_trait]
impl<D: Backend> SessionRepo for SqlStore<D>
where
    for<'c> &'c mut D::Connection: Executor<'c, Database = D>,
    for<'a> &'a str: ColumnIndex<D::Row> + Encode<'a, D>,
    str: Type<D>,
    usize: ColumnIndex<D::Row>,
    Uuid: Column<D>,
    String: Column<D>,
    i64: Column<D>,
    i32: Column<D>,
    DateTime<Utc>: Column<D>,
    Json<Value>: Column<D>,
    Option<String>: Bind<D>,
    for<'a> Option<&'a str>: Encode<'a, D>,
    Option<DateTime<Utc>>: Bind<D>,
    for<'a> Json<&'a Value>: Encode<'a, D> + Type<D>,
{
    async fn create_session(&self, session: Session) -> Result<Session, StoreError> {
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
        .map_err(map_err)?;
        Ok(session)
    }

    async fn session(&self, id: SessionId) -> Result<Option<Session>, StoreError> {
        let row: Option<rows::SessionRow> = sqlx::query_as(
            "select session_id, user_id, created_at, expires_at, revoked_at from session where session_id = $1",
        )
        .bind(id.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(row.map(Into::into))
    }

    async fn revoke_session(&self, id: SessionId, at: DateTime<Utc>) -> Result<bool, StoreError> {
        let done =
            sqlx::query("update session set revoked_at = $2 where session_id = $1 and revoked_at is null")
                .bind(id.as_uuid())
                .bind(at)
                .execute(&self.pool)
                .await
                .map_err(map_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn delete_expired_sessions(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let done = sqlx::query("delete from session where expires_at < $1")
            .bind(before)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(done.rows_affected())
    }

    async fn active_sessions(&self, user_id: UserId, now: DateTime<Utc>) -> Result<Vec<Session>, StoreError> {
        let rows: Vec<rows::SessionRow> = sqlx::query_as(
            "select session_id, user_id, created_at, expires_at, revoked_at from session
             where user_id = $1 and revoked_at is null and expires_at > $2
             order by created_at desc, session_id desc",
        )
        .bind(user_id.as_uuid())
        .bind(now)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn revoke_user_sessions(
        &self,
        user_id: UserId,
        keep: Option<SessionId>,
        at: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        // A nil id never names a session: "keep nothing".
        let keep = keep.map_or(Uuid::nil(), |k| k.as_uuid());
        let done = sqlx::query(
            "update session set revoked_at = $3
             where user_id = $1 and session_id <> $2 and revoked_at is null and expires_at > $3",
        )
        .bind(user_id.as_uuid())
        .bind(keep)
        .bind(at)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(done.rows_affected())
    }

    async fn change_password(
        &self,
        user_id: UserId,
        password_hash: &str,
        keep: SessionId,
        at: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let mut tx = self.begin_write().await?;
        let done =
            sqlx::query("update user_account set password_hash = $2, updated_at = $3 where user_id = $1")
                .bind(user_id.as_uuid())
                .bind(password_hash)
                .bind(at)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
        if done.rows_affected() == 0 {
            tx.rollback().await.map_err(map_err)?;
            return Err(StoreError::NotFound);
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
        .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        Ok(revoked.rows_affected())
    }
}

/// Inside a write transaction: locks the workspace's owners, reads the member (`NotFound` if
/// the user is not one) and, when the change takes an owner away (`loses_owner` and the member
/// is an owner), refuses with `Conflict { constraint: "last_owner" }` unless another owner
/// remains. Answers the member as it was.
async fn owner_guard<D: Backend>(
    tx: &mut Transaction<'static, D>,
    workspace_id: WorkspaceId,
    user_id: UserId,
    loses_owner: bool,
) -> Result<Member, StoreError>
where
    for<'c> &'c mut D::Connection: Executor<'c, Database = D>,
    for<'a> &'a str: ColumnIndex<D::Row> + Encode<'a, D>,
    str: Type<D>,
    usize: ColumnIndex<D::Row>,
    Uuid: Column<D>,
    String: Column<D>,
    i64: Column<D>,
    i32: Column<D>,
    DateTime<Utc>: Column<D>,
    Json<Value>: Column<D>,
    Option<String>: Bind<D>,
    for<'a> Option<&'a str>: Encode<'a, D>,
    Option<DateTime<Utc>>: Bind<D>,
    for<'a> Json<&'a Value>: Encode<'a, D> + Type<D>,
{
    // Touching the workspace row serializes every owner change of the workspace: on
    // PostgreSQL a second transaction waits here for the row lock (and then counts what this
    // one left); SQLite's write transactions are exclusive already.
    sqlx::query("update workspace set updated_at = updated_at where workspace_id = $1")
        .bind(workspace_id.as_uuid())
        .execute(&mut **tx)
        .await
        .map_err(map_err)?;
    let row: Option<rows::MemberRow> = sqlx::query_as(
        "select workspace_id, user_id, role, created_at from member where workspace_id = $1 and user_id = $2",
    )
    .bind(workspace_id.as_uuid())
    .bind(user_id.as_uuid())
    .fetch_optional(&mut **tx)
    .await
    .map_err(map_err)?;
    let current: Member = row.ok_or(StoreError::NotFound)?.try_into()?;
    if current.role == MemberRole::Owner && loses_owner {
        let owners: i64 =
            sqlx::query_scalar("select count(*) from member where workspace_id = $1 and role = 'owner'")
                .bind(workspace_id.as_uuid())
                .fetch_one(&mut **tx)
                .await
                .map_err(map_err)?;
        if owners <= 1 {
            return Err(StoreError::Conflict { constraint: "last_owner".to_owned() });
        }
    }
    Ok(current)
}

/// Inside a write transaction: makes the workspace the user's default when they have none
/// (their first membership, or the first one after leaving their default).
pub(crate) async fn default_if_unset<D: Backend>(
    tx: &mut Transaction<'static, D>,
    user_id: UserId,
    workspace_id: WorkspaceId,
) -> Result<(), StoreError>
where
    for<'c> &'c mut D::Connection: Executor<'c, Database = D>,
    for<'a> &'a str: ColumnIndex<D::Row> + Encode<'a, D>,
    str: Type<D>,
    usize: ColumnIndex<D::Row>,
    Uuid: Column<D>,
    String: Column<D>,
    i64: Column<D>,
    i32: Column<D>,
    DateTime<Utc>: Column<D>,
    Json<Value>: Column<D>,
    Option<String>: Bind<D>,
    for<'a> Option<&'a str>: Encode<'a, D>,
    Option<DateTime<Utc>>: Bind<D>,
    for<'a> Json<&'a Value>: Encode<'a, D> + Type<D>,
{
    sqlx::query("update user_account set default_workspace_id = $2 where user_id = $1 and default_workspace_id is null")
        .bind(user_id.as_uuid())
        .bind(workspace_id.as_uuid())
        .execute(&mut **tx)
        .await
        .map_err(map_err)?;
    Ok(())
}

/// A new member of the workspace starts with the history of its contact conversations read
/// (one position per conversation, once, at the join): without it, every message from before
/// they joined would count as unread for them. Rooms start read when a member is added.
pub(crate) async fn start_read_positions<D: Backend>(
    tx: &mut Transaction<'static, D>,
    user_id: UserId,
    workspace_id: WorkspaceId,
    at: DateTime<Utc>,
) -> Result<(), StoreError>
where
    for<'c> &'c mut D::Connection: Executor<'c, Database = D>,
    for<'a> &'a str: ColumnIndex<D::Row> + Encode<'a, D>,
    str: Type<D>,
    usize: ColumnIndex<D::Row>,
    Uuid: Column<D>,
    String: Column<D>,
    i64: Column<D>,
    i32: Column<D>,
    DateTime<Utc>: Column<D>,
    Json<Value>: Column<D>,
    Option<String>: Bind<D>,
    for<'a> Option<&'a str>: Encode<'a, D>,
    Option<DateTime<Utc>>: Bind<D>,
    for<'a> Json<&'a Value>: Encode<'a, D> + Type<D>,
{
    sqlx::query(
        "insert into read_position (user_id, conversation_id, workspace_id, last_read_message_id, updated_at)
         select $2, p.conversation_id, $1, p.newest, $3 from (
           select c.conversation_id,
                  (select m.message_id from message m where m.conversation_id = c.conversation_id
                   order by m.message_id desc limit 1) as newest
           from conversation c where c.workspace_id = $1 and c.contact_id is not null) p
         where p.newest is not null
         on conflict (user_id, conversation_id) do nothing",
    )
    .bind(workspace_id.as_uuid())
    .bind(user_id.as_uuid())
    .bind(at)
    .execute(&mut **tx)
    .await
    .map_err(map_err)?;
    Ok(())
}
