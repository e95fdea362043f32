//! Invitations to workspaces: at most one pending per (workspace, email), answered ones kept
//! as history; accepting one makes the member in the same transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::{Json, Uuid};
use sqlx::{ColumnIndex, Encode, Executor, Transaction, Type};
use switchboard::invitation::Invitation;
use switchboard::store::{InvitationDetail, InvitationRepo, NewInvitation, NewUser, StoreError};
use switchboard::validate::Email;
use switchboard::{InvitationId, MemberRole, Membership, User, UserId, WorkspaceId};

use super::accounts::{default_if_unset, start_read_positions};
use super::backend::{Backend, Bind, Column, RowsAffected, SqlStore};
use super::rows::{self, invitation_select};
use super::{abort, map_err};

impl<D: Backend> SqlStore<D>
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
    async fn invitation_where(
        &self,
        filter: &'static str,
        bind: Uuid,
    ) -> Result<Option<InvitationDetail>, StoreError> {
        let sql = [invitation_select!(), filter].concat();
        let row: Option<rows::InvitationRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(bind)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.map(TryInto::try_into).transpose()
    }
}

#[async_trait]
impl<D: Backend> InvitationRepo for SqlStore<D>
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
    async fn put_invitation(&self, new: NewInvitation) -> Result<Invitation, StoreError> {
        let (id,): (Uuid,) = sqlx::query_as(
            "insert into invitation (invitation_id, workspace_id, email, role, invited_by, token_hash,
                                     status, created_at, updated_at, expires_at)
             values ($1, $2, $3, $4, $5, $6, 'pending', $7, $7, $8)
             on conflict (workspace_id, email) where status = 'pending' do update
             set role = excluded.role, invited_by = excluded.invited_by, token_hash = excluded.token_hash,
                 updated_at = excluded.updated_at, expires_at = excluded.expires_at
             returning invitation_id",
        )
        .bind(new.id.as_uuid())
        .bind(new.workspace_id.as_uuid())
        .bind(new.email.as_str())
        .bind(new.role.as_str())
        .bind(new.invited_by.as_uuid())
        .bind(&new.token_hash)
        .bind(new.created_at)
        .bind(new.expires_at)
        .fetch_one(&self.pool)
        .await
        .map_err(map_err)?;
        let found = self.invitation_where("where i.invitation_id = $1", id).await?;
        Ok(found.ok_or(StoreError::NotFound)?.invitation)
    }

    async fn invitations(&self, workspace_id: WorkspaceId) -> Result<Vec<Invitation>, StoreError> {
        let rows: Vec<rows::InvitationRow> = sqlx::query_as(concat!(
            invitation_select!(),
            "where i.workspace_id = $1 and i.status = 'pending' order by i.created_at, i.invitation_id"
        ))
        .bind(workspace_id.as_uuid())
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.into_iter().map(|r| Ok(InvitationDetail::try_from(r)?.invitation)).collect()
    }

    async fn revoke_invitation(
        &self,
        workspace_id: WorkspaceId,
        id: InvitationId,
        at: DateTime<Utc>,
    ) -> Result<Invitation, StoreError> {
        let done = sqlx::query(
            "update invitation set status = 'revoked', revoked_at = $3, updated_at = $3
             where workspace_id = $1 and invitation_id = $2 and status = 'pending'",
        )
        .bind(workspace_id.as_uuid())
        .bind(id.as_uuid())
        .bind(at)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        let found = self.invitation_where("where i.invitation_id = $1", id.as_uuid()).await?;
        Ok(found.ok_or(StoreError::NotFound)?.invitation)
    }

    async fn invitations_for(
        &self,
        email: &Email,
        now: DateTime<Utc>,
    ) -> Result<Vec<InvitationDetail>, StoreError> {
        let rows: Vec<rows::InvitationRow> = sqlx::query_as(concat!(
            invitation_select!(),
            "where i.email = $1 and i.status = 'pending' and i.expires_at > $2
             order by i.created_at, i.invitation_id"
        ))
        .bind(email.as_str())
        .bind(now)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn invitation(&self, id: InvitationId) -> Result<Option<InvitationDetail>, StoreError> {
        self.invitation_where("where i.invitation_id = $1", id.as_uuid()).await
    }

    async fn invitation_by_token(&self, token_hash: &str) -> Result<Option<InvitationDetail>, StoreError> {
        let row: Option<rows::InvitationRow> =
            sqlx::query_as(concat!(invitation_select!(), "where i.token_hash = $1"))
                .bind(token_hash)
                .fetch_optional(&self.pool)
                .await
                .map_err(map_err)?;
        row.map(TryInto::try_into).transpose()
    }

    async fn accept_invitation(
        &self,
        id: InvitationId,
        user_id: UserId,
        at: DateTime<Utc>,
    ) -> Result<Membership, StoreError> {
        let mut tx = self.begin_write().await?;
        let (workspace_id, role) = match take_open_invitation(&mut tx, id, at).await {
            Ok(taken) => taken,
            Err(err) => return abort(tx, err).await,
        };
        let membership = join_workspace(&mut tx, workspace_id, user_id, role, at).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(membership)
    }

    async fn decline_invitation(&self, id: InvitationId, at: DateTime<Utc>) -> Result<(), StoreError> {
        let done = sqlx::query(
            "update invitation set status = 'declined', declined_at = $2, updated_at = $2
             where invitation_id = $1 and status = 'pending' and expires_at > $2",
        )
        .bind(id.as_uuid())
        .bind(at)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        if done.rows_affected() == 0 {
            Err(StoreError::Conflict { constraint: "invitation_closed".to_owned() })
        } else {
            Ok(())
        }
    }

    async fn accept_invitation_as_new_user(
        &self,
        id: InvitationId,
        user: NewUser,
    ) -> Result<(User, Membership), StoreError> {
        let at = user.created_at;
        let mut tx = self.begin_write().await?;
        let email: Option<(String,)> =
            sqlx::query_as("select email from invitation where invitation_id = $1")
                .bind(id.as_uuid())
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_err)?;
        if email.is_none_or(|(e,)| e != user.email.as_str()) {
            tx.rollback().await.map_err(map_err)?;
            return Err(StoreError::NotFound);
        }
        let (workspace_id, role) = match take_open_invitation(&mut tx, id, at).await {
            Ok(taken) => taken,
            Err(err) => return abort(tx, err).await,
        };
        sqlx::query(
            "insert into user_account (user_id, email, name, password_hash, created_at, updated_at)
             values ($1, $2, $3, $4, $5, $5)",
        )
        .bind(user.id.as_uuid())
        .bind(user.email.as_str())
        .bind(&user.name)
        .bind(&user.password_hash)
        .bind(at)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        let membership = join_workspace(&mut tx, workspace_id, user.id, role, at).await?;
        tx.commit().await.map_err(map_err)?;
        let created =
            User { id: user.id, email: user.email.as_str().to_owned(), name: user.name, created_at: at };
        Ok((created, membership))
    }
}

/// Inside a write transaction: marks the open invitation accepted at `at`, answering its
/// workspace and role; `Conflict { constraint: "invitation_closed" }` when it is not pending
/// and unexpired.
async fn take_open_invitation<D: Backend>(
    tx: &mut Transaction<'static, D>,
    id: InvitationId,
    at: DateTime<Utc>,
) -> Result<(WorkspaceId, MemberRole), StoreError>
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
    let row: Option<(Uuid, String)> = sqlx::query_as(
        "update invitation set status = 'accepted', accepted_at = $2, updated_at = $2
         where invitation_id = $1 and status = 'pending' and expires_at > $2
         returning workspace_id, role",
    )
    .bind(id.as_uuid())
    .bind(at)
    .fetch_optional(&mut **tx)
    .await
    .map_err(map_err)?;
    match row {
        Some((workspace_id, role)) => Ok((WorkspaceId::from(workspace_id), rows::role(&role)?)),
        None => Err(StoreError::Conflict { constraint: "invitation_closed".to_owned() }),
    }
}

/// Inside a write transaction: makes the user a member with `role` unless they are one already
/// (an existing membership keeps its role), sets their default workspace when unset, and
/// answers the membership.
async fn join_workspace<D: Backend>(
    tx: &mut Transaction<'static, D>,
    workspace_id: WorkspaceId,
    user_id: UserId,
    role: MemberRole,
    at: DateTime<Utc>,
) -> Result<Membership, StoreError>
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
    let joined = sqlx::query(
        "insert into member (workspace_id, user_id, role, created_at, updated_at)
         values ($1, $2, $3, $4, $4)
         on conflict (workspace_id, user_id) do nothing",
    )
    .bind(workspace_id.as_uuid())
    .bind(user_id.as_uuid())
    .bind(role.as_str())
    .bind(at)
    .execute(&mut **tx)
    .await
    .map_err(map_err)?
    .rows_affected();
    default_if_unset(tx, user_id, workspace_id).await?;
    if joined == 1 {
        start_read_positions(tx, user_id, workspace_id, at).await?;
    }
    let row: rows::MembershipRow = sqlx::query_as(
        "select w.workspace_id, w.name, w.created_at, m.role
         from member m join workspace w on w.workspace_id = m.workspace_id
         where m.workspace_id = $1 and m.user_id = $2",
    )
    .bind(workspace_id.as_uuid())
    .bind(user_id.as_uuid())
    .fetch_one(&mut **tx)
    .await
    .map_err(map_err)?;
    Ok(Membership { role: rows::role(&row.role)?, workspace: row.workspace.into() })
}
