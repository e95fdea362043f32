//! The developer platform: API keys (each with the account it acts as) and the users of a
//! workspace's app (each an account of kind `app`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::{Json, Uuid};
use sqlx::{ColumnIndex, Encode, Executor, Type};
use switchboard::platform::{APP_USER_ROLE, ApiKey, AppUser, PutAppUser, Reader};
use switchboard::store::{KeyGrant, NewApiKey, PlatformRepo, StoreError};
use switchboard::{ApiKeyId, ChannelId, ConversationId, MessageId, UserId, WorkspaceId};

use super::backend::{Backend, Bind, Column, RowsAffected, SqlStore};
use super::map_err;

/// The address an account that never signs in gets: unique, and under the reserved `.invalid`
/// domain, so it can neither collide with a person's nor receive mail.
fn reserved_email(kind: &str, id: UserId) -> String {
    format!("{id}@{kind}.switchboard.invalid")
}

/// What an account that never signs in has for a password: no argon2 hash parses as this.
const NO_PASSWORD: &str = "!";

const KEY_COLUMNS: &str =
    "key_id, workspace_id, user_id, name, scope, created_by, created_at, last_used_at, revoked_at";

#[derive(sqlx::FromRow)]
struct KeyRow {
    key_id: Uuid,
    workspace_id: Uuid,
    user_id: Uuid,
    name: String,
    scope: String,
    created_by: Option<Uuid>,
    created_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

impl TryFrom<KeyRow> for KeyGrant {
    type Error = StoreError;
    fn try_from(r: KeyRow) -> Result<Self, StoreError> {
        Ok(KeyGrant {
            key: ApiKey {
                id: r.key_id.into(),
                name: r.name,
                scope: r.scope.parse().map_err(StoreError::Internal)?,
                user_id: r.user_id.into(),
                created_by: r.created_by.map(Into::into),
                created_at: r.created_at,
                last_used_at: r.last_used_at,
                revoked_at: r.revoked_at,
            },
            workspace_id: r.workspace_id.into(),
        })
    }
}

const APP_USER_COLUMNS: &str = "a.workspace_id, a.user_id, a.external_id, u.name, a.image_url, a.custom, \
                                a.deactivated_at, a.created_at, a.updated_at";

#[derive(sqlx::FromRow)]
struct AppUserRow {
    workspace_id: Uuid,
    user_id: Uuid,
    external_id: String,
    name: String,
    image_url: Option<String>,
    custom: Json<Value>,
    deactivated_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<AppUserRow> for (WorkspaceId, AppUser) {
    fn from(r: AppUserRow) -> Self {
        let user = AppUser {
            external_id: r.external_id,
            user_id: r.user_id.into(),
            name: r.name,
            image_url: r.image_url,
            custom: r.custom.0,
            role: APP_USER_ROLE.to_owned(),
            deactivated_at: r.deactivated_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
        };
        (r.workspace_id.into(), user)
    }
}

/// A key with the app user a token of it names (left-joined: absent when there is none).
#[derive(sqlx::FromRow)]
struct TokenGrantRow {
    #[sqlx(flatten)]
    key: KeyRow,
    app_user_id: Option<Uuid>,
    app_name: Option<String>,
    app_email: Option<String>,
    app_image_url: Option<String>,
    app_custom: Option<Json<Value>>,
    app_deactivated_at: Option<DateTime<Utc>>,
    app_created_at: Option<DateTime<Utc>>,
    app_updated_at: Option<DateTime<Utc>>,
    account_created_at: Option<DateTime<Utc>>,
}

impl TokenGrantRow {
    fn into_grant(
        self,
        external_id: &str,
    ) -> Result<(KeyGrant, Option<(AppUser, switchboard::User)>), StoreError> {
        let account = match (
            self.app_user_id,
            self.app_name,
            self.app_email,
            self.app_created_at,
            self.app_updated_at,
            self.account_created_at,
        ) {
            (
                Some(id),
                Some(name),
                Some(email),
                Some(created_at),
                Some(updated_at),
                Some(account_created_at),
            ) => {
                let app_user = AppUser {
                    external_id: external_id.to_owned(),
                    user_id: id.into(),
                    name: name.clone(),
                    image_url: self.app_image_url,
                    custom: self.app_custom.map(|c| c.0).unwrap_or_default(),
                    role: APP_USER_ROLE.to_owned(),
                    deactivated_at: self.app_deactivated_at,
                    created_at,
                    updated_at,
                };
                let user = switchboard::User { id: id.into(), email, name, created_at: account_created_at };
                Some((app_user, user))
            }
            _ => None,
        };
        Ok((KeyGrant::try_from(self.key)?, account))
    }
}

impl<D: Backend> SqlStore<D>
where
    for<'c> &'c mut D::Connection: Executor<'c, Database = D>,
    for<'a> &'a str: ColumnIndex<D::Row> + Encode<'a, D>,
    str: Type<D>,
    usize: ColumnIndex<D::Row>,
    Uuid: Column<D>,
    String: Column<D>,
    DateTime<Utc>: Column<D>,
    Json<Value>: Column<D>,
    Option<Uuid>: Bind<D>,
    Option<String>: Bind<D>,
    Option<DateTime<Utc>>: Bind<D>,
    for<'a> Json<&'a Value>: Encode<'a, D> + Type<D>,
{
    async fn key_where(
        &self,
        filter: &'static str,
        bind: &str,
        id: Option<Uuid>,
    ) -> Result<Option<KeyGrant>, StoreError> {
        let sql = format!("select {KEY_COLUMNS} from api_key where {filter}");
        let query = sqlx::query_as::<_, KeyRow>(sqlx::AssertSqlSafe(sql));
        let query = match id {
            Some(id) => query.bind(id),
            None => query.bind(bind.to_owned()),
        };
        let row = query.fetch_optional(&self.pool).await.map_err(map_err)?;
        row.map(TryInto::try_into).transpose()
    }

    async fn app_user_where(
        &self,
        filter: &'static str,
        workspace: Uuid,
        external_id: &str,
    ) -> Result<Option<(WorkspaceId, AppUser)>, StoreError> {
        let sql = format!(
            "select {APP_USER_COLUMNS} from app_user a join user_account u on u.user_id = a.user_id where {filter}"
        );
        let row: Option<AppUserRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(workspace)
            .bind(external_id.to_owned())
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(row.map(Into::into))
    }
}

#[async_trait]
impl<D: Backend> PlatformRepo for SqlStore<D>
where
    for<'c> &'c mut D::Connection: Executor<'c, Database = D>,
    for<'a> &'a str: ColumnIndex<D::Row> + Encode<'a, D>,
    str: Type<D>,
    usize: ColumnIndex<D::Row>,
    Uuid: Column<D>,
    String: Column<D>,
    i64: Column<D>,
    DateTime<Utc>: Column<D>,
    Json<Value>: Column<D>,
    Option<Uuid>: Bind<D>,
    Option<String>: Bind<D>,
    Option<DateTime<Utc>>: Bind<D>,
    for<'a> Json<&'a Value>: Encode<'a, D> + Type<D>,
{
    async fn create_api_key(&self, key: NewApiKey) -> Result<ApiKey, StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "insert into user_account (user_id, email, name, password_hash, created_at, updated_at, kind)
             values ($1, $2, $3, $4, $5, $5, 'key')",
        )
        .bind(key.user_id.as_uuid())
        .bind(reserved_email("key", key.user_id))
        .bind(&key.name)
        .bind(NO_PASSWORD)
        .bind(key.created_at)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        sqlx::query(
            "insert into member (workspace_id, user_id, role, created_at, updated_at) values ($1, $2, 'admin', $3, $3)",
        )
        .bind(key.workspace_id.as_uuid())
        .bind(key.user_id.as_uuid())
        .bind(key.created_at)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        sqlx::query(
            "insert into api_key (key_id, workspace_id, user_id, name, scope, secret_hash, created_by, created_at)
             values ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(key.id.as_uuid())
        .bind(key.workspace_id.as_uuid())
        .bind(key.user_id.as_uuid())
        .bind(&key.name)
        .bind(key.scope.as_str())
        .bind(&key.secret_hash)
        .bind(key.created_by.map(|u| u.as_uuid()))
        .bind(key.created_at)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        Ok(ApiKey {
            id: key.id,
            name: key.name,
            scope: key.scope,
            user_id: key.user_id,
            created_by: key.created_by,
            created_at: key.created_at,
            last_used_at: None,
            revoked_at: None,
        })
    }

    async fn api_keys(&self, workspace_id: WorkspaceId) -> Result<Vec<ApiKey>, StoreError> {
        let sql = format!("select {KEY_COLUMNS} from api_key where workspace_id = $1 order by key_id desc");
        let rows: Vec<KeyRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(workspace_id.as_uuid())
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        rows.into_iter().map(|r| KeyGrant::try_from(r).map(|g| g.key)).collect()
    }

    async fn api_key(&self, id: ApiKeyId) -> Result<Option<KeyGrant>, StoreError> {
        self.key_where("key_id = $1", "", Some(id.as_uuid())).await
    }

    async fn api_key_by_secret(&self, secret_hash: &str) -> Result<Option<KeyGrant>, StoreError> {
        self.key_where("secret_hash = $1", secret_hash, None).await
    }

    async fn revoke_api_key(
        &self,
        workspace_id: WorkspaceId,
        id: ApiKeyId,
        at: DateTime<Utc>,
    ) -> Result<ApiKey, StoreError> {
        let mut tx = self.begin_write().await?;
        let sql = format!(
            "update api_key set revoked_at = $3 where workspace_id = $1 and key_id = $2 and revoked_at is null
             returning {KEY_COLUMNS}"
        );
        let row: Option<KeyRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(workspace_id.as_uuid())
            .bind(id.as_uuid())
            .bind(at)
            .fetch_optional(&mut *tx)
            .await
            .map_err(map_err)?;
        let grant = KeyGrant::try_from(row.ok_or(StoreError::NotFound)?)?;
        sqlx::query("delete from member where workspace_id = $1 and user_id = $2")
            .bind(workspace_id.as_uuid())
            .bind(grant.key.user_id.as_uuid())
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        Ok(grant.key)
    }

    async fn touch_api_key(&self, id: ApiKeyId, at: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query("update api_key set last_used_at = $2 where key_id = $1")
            .bind(id.as_uuid())
            .bind(at)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn put_app_user(
        &self,
        workspace_id: WorkspaceId,
        external_id: &str,
        new_user_id: UserId,
        fields: &PutAppUser,
        at: DateTime<Utc>,
    ) -> Result<(AppUser, bool), StoreError> {
        let empty = Value::Object(Default::default());
        let custom = fields.custom.as_ref().unwrap_or(&empty);
        let mut tx = self.begin_write().await?;
        let existing: Option<(Uuid,)> =
            sqlx::query_as("select user_id from app_user where workspace_id = $1 and external_id = $2")
                .bind(workspace_id.as_uuid())
                .bind(external_id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_err)?;
        let created = existing.is_none();
        let user_id = match existing {
            Some((id,)) => {
                sqlx::query("update user_account set name = $2, updated_at = $3 where user_id = $1")
                    .bind(id)
                    .bind(&fields.name)
                    .bind(at)
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                sqlx::query(
                    "update app_user set image_url = $2, custom = $3, updated_at = $4 where user_id = $1",
                )
                .bind(id)
                .bind(fields.image_url.clone())
                .bind(Json(custom))
                .bind(at)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
                id
            }
            None => {
                sqlx::query(
                    "insert into user_account (user_id, email, name, password_hash, created_at, updated_at, kind)
                     values ($1, $2, $3, $4, $5, $5, 'app')",
                )
                .bind(new_user_id.as_uuid())
                .bind(reserved_email("app", new_user_id))
                .bind(&fields.name)
                .bind(NO_PASSWORD)
                .bind(at)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
                sqlx::query(
                    "insert into app_user (user_id, workspace_id, external_id, image_url, custom, created_at, updated_at)
                     values ($1, $2, $3, $4, $5, $6, $6)",
                )
                .bind(new_user_id.as_uuid())
                .bind(workspace_id.as_uuid())
                .bind(external_id)
                .bind(fields.image_url.clone())
                .bind(Json(custom))
                .bind(at)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
                new_user_id.as_uuid()
            }
        };
        tx.commit().await.map_err(map_err)?;
        let (_, user) = self
            .app_user_where("a.user_id = $1 and a.external_id = $2", user_id, external_id)
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok((user, created))
    }

    async fn app_user(
        &self,
        workspace_id: WorkspaceId,
        external_id: &str,
    ) -> Result<Option<AppUser>, StoreError> {
        let found = self
            .app_user_where("a.workspace_id = $1 and a.external_id = $2", workspace_id.as_uuid(), external_id)
            .await?;
        Ok(found.map(|(_, user)| user))
    }

    async fn user_token_grant(
        &self,
        key_id: ApiKeyId,
        external_id: &str,
    ) -> Result<Option<(KeyGrant, Option<(AppUser, switchboard::User)>)>, StoreError> {
        // One read where a user token's check used to make three (the key, the app user, the
        // account): a connect's accept path runs it.
        let row: Option<TokenGrantRow> = sqlx::query_as(super::hot::USER_TOKEN_GRANT)
            .bind(key_id.as_uuid())
            .bind(external_id.to_owned())
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.map(|r| r.into_grant(external_id)).transpose()
    }

    async fn app_user_by_id(&self, user_id: UserId) -> Result<Option<(WorkspaceId, AppUser)>, StoreError> {
        // `$2` is unused but bound, so the one helper serves every lookup.
        self.app_user_where("a.user_id = $1 and $2 = $2", user_id.as_uuid(), "").await
    }

    async fn app_users(
        &self,
        workspace_id: WorkspaceId,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<AppUser>, StoreError> {
        let sql = format!(
            "select {APP_USER_COLUMNS} from app_user a join user_account u on u.user_id = a.user_id
             where a.workspace_id = $1 and a.external_id > $2 order by a.external_id limit $3"
        );
        let rows: Vec<AppUserRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(workspace_id.as_uuid())
            .bind(after.unwrap_or(""))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(rows.into_iter().map(|r| <(WorkspaceId, AppUser)>::from(r).1).collect())
    }

    async fn set_app_user_deactivated(
        &self,
        workspace_id: WorkspaceId,
        external_id: &str,
        deactivated_at: Option<DateTime<Utc>>,
        at: DateTime<Utc>,
    ) -> Result<AppUser, StoreError> {
        let done = sqlx::query(
            "update app_user set deactivated_at = $3, updated_at = $4 where workspace_id = $1 and external_id = $2",
        )
        .bind(workspace_id.as_uuid())
        .bind(external_id)
        .bind(deactivated_at)
        .bind(at)
        .execute(&self.writer)
        .await
        .map_err(map_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        self.app_user(workspace_id, external_id).await?.ok_or(StoreError::NotFound)
    }

    async fn readers(
        &self,
        workspace_id: WorkspaceId,
        conversation_id: ConversationId,
        message: MessageId,
        except: Option<UserId>,
    ) -> Result<Vec<Reader>, StoreError> {
        // The nil id stands for "no sender": no account has it.
        let except = except.map_or(Uuid::nil(), |u| u.as_uuid());
        let rows: Vec<(Uuid, String, DateTime<Utc>)> = sqlx::query_as(
            "select rp.user_id, u.name, rp.updated_at from read_position rp
             join user_account u on u.user_id = rp.user_id
             where rp.workspace_id = $1 and rp.conversation_id = $2 and rp.last_read_message_id >= $3
               and rp.user_id <> $4
             order by rp.updated_at, rp.user_id",
        )
        .bind(workspace_id.as_uuid())
        .bind(conversation_id.as_uuid())
        .bind(message.as_uuid())
        .bind(except)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(rows
            .into_iter()
            .map(|(user_id, name, read_at)| Reader { user_id: user_id.into(), name, read_at })
            .collect())
    }

    async fn claim_inbound_token(
        &self,
        channel_id: ChannelId,
        jti: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query("delete from api_inbound_token where expires_at < $1")
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        let done = sqlx::query(
            "insert into api_inbound_token (channel_id, jti, expires_at) values ($1, $2, $3)
             on conflict (channel_id, jti) do nothing",
        )
        .bind(channel_id.as_uuid())
        .bind(jti)
        .bind(expires_at)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn delete_app_user(
        &self,
        workspace_id: WorkspaceId,
        external_id: &str,
        at: DateTime<Utc>,
    ) -> Result<UserId, StoreError> {
        let mut tx = self.begin_write().await?;
        let found: Option<(Uuid,)> = sqlx::query_as(
            "delete from app_user where workspace_id = $1 and external_id = $2 returning user_id",
        )
        .bind(workspace_id.as_uuid())
        .bind(external_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_err)?;
        let (user_id,) = found.ok_or(StoreError::NotFound)?;
        sqlx::query("update user_account set name = 'Deleted user', updated_at = $2 where user_id = $1")
            .bind(user_id)
            .bind(at)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        for table in ["conversation_member", "read_position"] {
            let sql = format!("delete from {table} where user_id = $1");
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(user_id).execute(&mut *tx).await.map_err(map_err)?;
        }
        tx.commit().await.map_err(map_err)?;
        Ok(user_id.into())
    }
}
