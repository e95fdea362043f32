//! Invitations, for both backends: the SQL is the same (`$n` placeholders, partial unique
//! index upserts, `returning`), so [`impl_invitations!`] stamps one body onto each store type,
//! like [`super::sql::impl_store!`] does for the other repositories.

/// The columns of an invitation with its workspace's and inviter's names, in
/// `rows::InvitationRow`'s order, and the joins they need.
macro_rules! invitation_select {
    () => {
        "select i.invitation_id, i.workspace_id, i.email, i.role, i.invited_by, i.status, i.created_at,
                i.expires_at, w.name as workspace_name, u.name as invited_by_name
         from invitation i
         join workspace w on w.workspace_id = i.workspace_id
         left join user_account u on u.user_id = i.invited_by "
    };
}

/// Inside a write transaction `$tx`: marks the open invitation `$id` accepted at `$at`,
/// evaluating to its workspace id and role; refuses with `Conflict { constraint: "invitation_closed" }` when it is
/// not pending and unexpired.
macro_rules! take_open_invitation {
    ($tx:ident, $id:expr, $at:expr) => {{
        let row: Option<(uuid::Uuid, String)> = sqlx::query_as(
            "update invitation set status = 'accepted', accepted_at = $2, updated_at = $2
             where invitation_id = $1 and status = 'pending' and expires_at > $2
             returning workspace_id, role",
        )
        .bind($id.as_uuid())
        .bind($at)
        .fetch_optional(&mut *$tx)
        .await
        .map_err($crate::store::map_err)?;
        match row {
            Some((workspace_id, role)) => {
                (switchboard::WorkspaceId::from(workspace_id), $crate::store::rows::role(&role)?)
            }
            None => {
                $tx.rollback().await.map_err($crate::store::map_err)?;
                return Err(switchboard::StoreError::Conflict { constraint: "invitation_closed".to_owned() });
            }
        }
    }};
}

/// Inside `$tx`: makes the user a member with `$role` unless they are one already (an existing
/// membership keeps its role), sets their default workspace when unset, and evaluates to the
/// membership.
macro_rules! join_workspace {
    ($tx:ident, $workspace_id:expr, $user_id:expr, $role:expr, $at:expr) => {{
        sqlx::query(
            "insert into member (workspace_id, user_id, role, created_at, updated_at)
             values ($1, $2, $3, $4, $4)
             on conflict (workspace_id, user_id) do nothing",
        )
        .bind($workspace_id.as_uuid())
        .bind($user_id.as_uuid())
        .bind($role.as_str())
        .bind($at)
        .execute(&mut *$tx)
        .await
        .map_err($crate::store::map_err)?;
        $crate::store::sql::default_if_unset!($tx, $user_id, $workspace_id);
        let row: $crate::store::rows::MembershipRow = sqlx::query_as(
            "select w.workspace_id, w.name, w.created_at, m.role
             from member m join workspace w on w.workspace_id = m.workspace_id
             where m.workspace_id = $1 and m.user_id = $2",
        )
        .bind($workspace_id.as_uuid())
        .bind($user_id.as_uuid())
        .fetch_one(&mut *$tx)
        .await
        .map_err($crate::store::map_err)?;
        switchboard::Membership {
            role: $crate::store::rows::role(&row.role)?,
            workspace: row.workspace.into(),
        }
    }};
}

macro_rules! impl_invitations {
    ($store:ty) => {
        impl $store {
            async fn invitation_where(
                &self,
                filter: &'static str,
                bind: uuid::Uuid,
            ) -> Result<Option<switchboard::store::InvitationDetail>, switchboard::StoreError> {
                let sql = [$crate::store::invitations::invitation_select!(), filter].concat();
                let row: Option<$crate::store::rows::InvitationRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(bind)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err($crate::store::map_err)?;
                row.map(TryInto::try_into).transpose()
            }
        }

        #[async_trait::async_trait]
        impl switchboard::store::InvitationRepo for $store {
            async fn put_invitation(
                &self,
                new: switchboard::store::NewInvitation,
            ) -> Result<switchboard::invitation::Invitation, switchboard::StoreError> {
                let (id,): (uuid::Uuid,) = sqlx::query_as(
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
                .map_err($crate::store::map_err)?;
                let found = self.invitation_where("where i.invitation_id = $1", id).await?;
                Ok(found.ok_or(switchboard::StoreError::NotFound)?.invitation)
            }

            async fn invitations(
                &self,
                workspace_id: switchboard::WorkspaceId,
            ) -> Result<Vec<switchboard::invitation::Invitation>, switchboard::StoreError> {
                let rows: Vec<$crate::store::rows::InvitationRow> = sqlx::query_as(concat!(
                    $crate::store::invitations::invitation_select!(),
                    "where i.workspace_id = $1 and i.status = 'pending' order by i.created_at, i.invitation_id"
                ))
                .bind(workspace_id.as_uuid())
                .fetch_all(&self.pool)
                .await
                .map_err($crate::store::map_err)?;
                rows.into_iter()
                    .map(|r| Ok(switchboard::store::InvitationDetail::try_from(r)?.invitation))
                    .collect()
            }

            async fn revoke_invitation(
                &self,
                workspace_id: switchboard::WorkspaceId,
                id: switchboard::InvitationId,
                at: chrono::DateTime<chrono::Utc>,
            ) -> Result<switchboard::invitation::Invitation, switchboard::StoreError> {
                let done = sqlx::query(
                    "update invitation set status = 'revoked', revoked_at = $3, updated_at = $3
                     where workspace_id = $1 and invitation_id = $2 and status = 'pending'",
                )
                .bind(workspace_id.as_uuid())
                .bind(id.as_uuid())
                .bind(at)
                .execute(&self.pool)
                .await
                .map_err($crate::store::map_err)?;
                if done.rows_affected() == 0 {
                    return Err(switchboard::StoreError::NotFound);
                }
                let found = self.invitation_where("where i.invitation_id = $1", id.as_uuid()).await?;
                Ok(found.ok_or(switchboard::StoreError::NotFound)?.invitation)
            }

            async fn invitations_for(
                &self,
                email: &switchboard::validate::Email,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<Vec<switchboard::store::InvitationDetail>, switchboard::StoreError> {
                let rows: Vec<$crate::store::rows::InvitationRow> = sqlx::query_as(concat!(
                    $crate::store::invitations::invitation_select!(),
                    "where i.email = $1 and i.status = 'pending' and i.expires_at > $2
                     order by i.created_at, i.invitation_id"
                ))
                .bind(email.as_str())
                .bind(now)
                .fetch_all(&self.pool)
                .await
                .map_err($crate::store::map_err)?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn invitation(
                &self,
                id: switchboard::InvitationId,
            ) -> Result<Option<switchboard::store::InvitationDetail>, switchboard::StoreError> {
                self.invitation_where("where i.invitation_id = $1", id.as_uuid()).await
            }

            async fn invitation_by_token(
                &self,
                token_hash: &str,
            ) -> Result<Option<switchboard::store::InvitationDetail>, switchboard::StoreError> {
                let row: Option<$crate::store::rows::InvitationRow> = sqlx::query_as(concat!(
                    $crate::store::invitations::invitation_select!(),
                    "where i.token_hash = $1"
                ))
                .bind(token_hash)
                .fetch_optional(&self.pool)
                .await
                .map_err($crate::store::map_err)?;
                row.map(TryInto::try_into).transpose()
            }

            async fn accept_invitation(
                &self,
                id: switchboard::InvitationId,
                user_id: switchboard::UserId,
                at: chrono::DateTime<chrono::Utc>,
            ) -> Result<switchboard::Membership, switchboard::StoreError> {
                let mut tx = self.begin_write().await?;
                let (workspace_id, role) = $crate::store::invitations::take_open_invitation!(tx, id, at);
                let membership = $crate::store::invitations::join_workspace!(tx, workspace_id, user_id, role, at);
                tx.commit().await.map_err($crate::store::map_err)?;
                Ok(membership)
            }

            async fn decline_invitation(
                &self,
                id: switchboard::InvitationId,
                at: chrono::DateTime<chrono::Utc>,
            ) -> Result<(), switchboard::StoreError> {
                let done = sqlx::query(
                    "update invitation set status = 'declined', declined_at = $2, updated_at = $2
                     where invitation_id = $1 and status = 'pending' and expires_at > $2",
                )
                .bind(id.as_uuid())
                .bind(at)
                .execute(&self.pool)
                .await
                .map_err($crate::store::map_err)?;
                if done.rows_affected() == 0 {
                    Err(switchboard::StoreError::Conflict { constraint: "invitation_closed".to_owned() })
                } else {
                    Ok(())
                }
            }

            async fn accept_invitation_as_new_user(
                &self,
                id: switchboard::InvitationId,
                user: switchboard::store::NewUser,
            ) -> Result<(switchboard::User, switchboard::Membership), switchboard::StoreError> {
                let at = user.created_at;
                let mut tx = self.begin_write().await?;
                let email: Option<(String,)> =
                    sqlx::query_as("select email from invitation where invitation_id = $1")
                        .bind(id.as_uuid())
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err($crate::store::map_err)?;
                if email.is_none_or(|(e,)| e != user.email.as_str()) {
                    tx.rollback().await.map_err($crate::store::map_err)?;
                    return Err(switchboard::StoreError::NotFound);
                }
                let (workspace_id, role) = $crate::store::invitations::take_open_invitation!(tx, id, at);
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
                .map_err($crate::store::map_err)?;
                let membership = $crate::store::invitations::join_workspace!(tx, workspace_id, user.id, role, at);
                tx.commit().await.map_err($crate::store::map_err)?;
                let created = switchboard::User {
                    id: user.id,
                    email: user.email.as_str().to_owned(),
                    name: user.name,
                    created_at: at,
                };
                Ok((created, membership))
            }
        }
    };
}

pub(crate) use impl_invitations;
pub(crate) use invitation_select;
pub(crate) use join_workspace;
pub(crate) use take_open_invitation;
