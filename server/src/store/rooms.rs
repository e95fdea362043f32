//! Room membership, for both backends: who belongs to which room and with which role, read by
//! the access rules (`crate::access`) and changed by `POST`/`DELETE
//! /api/v1/conversations/{id}/members`. The SQL is the same on both (`$n` placeholders,
//! `on conflict do nothing`), so [`impl_rooms!`] stamps one body onto each store type.

macro_rules! impl_rooms {
    ($store:ty, $db:ty) => {
        impl $store {
            /// A room's members in the order they joined, inside `tx`.
            async fn room_members_in(
                tx: &mut sqlx::Transaction<'static, $db>,
                conversation_id: switchboard::ConversationId,
            ) -> Result<Vec<switchboard::UserId>, switchboard::StoreError> {
                let rows: Vec<(uuid::Uuid,)> = sqlx::query_as(
                    "select user_id from conversation_member where conversation_id = $1 order by added_at, user_id",
                )
                .bind(conversation_id.as_uuid())
                .fetch_all(&mut **tx)
                .await
                .map_err($crate::store::map_err)?;
                Ok(rows.into_iter().map(|(u,)| u.into()).collect())
            }

            /// The room (a conversation with no contact) of the workspace, inside `tx`; rolls
            /// back with `NotFound` when there is none.
            async fn room_in(
                tx: &mut sqlx::Transaction<'static, $db>,
                workspace_id: switchboard::WorkspaceId,
                conversation_id: switchboard::ConversationId,
            ) -> Result<switchboard::Conversation, switchboard::StoreError> {
                let row: Option<$crate::store::rows::ConversationRow> = sqlx::query_as(concat!(
                    "select ",
                    conversation_columns!(),
                    " from conversation where workspace_id = $1 and conversation_id = $2 and contact_id is null"
                ))
                .bind(workspace_id.as_uuid())
                .bind(conversation_id.as_uuid())
                .fetch_optional(&mut **tx)
                .await
                .map_err($crate::store::map_err)?;
                row.map(Into::into).ok_or(switchboard::StoreError::NotFound)
            }

            /// The `conversation.updated` a membership change puts on the room's topic.
            async fn members_changed(
                tx: &mut sqlx::Transaction<'static, $db>,
                room: &switchboard::Conversation,
                members: &[switchboard::UserId],
                at: chrono::DateTime<chrono::Utc>,
            ) -> Result<switchboard::Event, switchboard::StoreError> {
                let payload = serde_json::json!({ "conversation_id": room.id, "member_ids": members });
                let topic = switchboard::Topic::Conversation(room.id);
                let kind = switchboard::EventKind::ConversationUpdated;
                Self::append_event(tx, room.workspace_id, topic, kind, payload, None, at).await
            }
        }

        #[async_trait::async_trait]
        impl switchboard::store::RoomRepo for $store {
            async fn conversation_standing(
                &self,
                workspace_id: switchboard::WorkspaceId,
                conversation_id: switchboard::ConversationId,
                user_id: switchboard::UserId,
            ) -> Result<Option<(switchboard::Conversation, Option<switchboard::access::RoomRole>)>, switchboard::StoreError> {
                #[derive(sqlx::FromRow)]
                struct Row {
                    #[sqlx(flatten)]
                    conversation: $crate::store::rows::ConversationRow,
                    room_role: Option<String>,
                }
                let row: Option<Row> = sqlx::query_as(concat!(
                    "select ",
                    conversation_columns!(),
                    ", (select m.role from conversation_member m
                        where m.conversation_id = conversation.conversation_id and m.user_id = $3) as room_role
                     from conversation where workspace_id = $1 and conversation_id = $2"
                ))
                .bind(workspace_id.as_uuid())
                .bind(conversation_id.as_uuid())
                .bind(user_id.as_uuid())
                .fetch_optional(&self.pool)
                .await
                .map_err($crate::store::map_err)?;
                let Some(row) = row else { return Ok(None) };
                let role = row.room_role.map(|r| r.parse().map_err(switchboard::StoreError::Internal)).transpose()?;
                Ok(Some((row.conversation.into(), role)))
            }

            async fn add_room_members(
                &self,
                workspace_id: switchboard::WorkspaceId,
                conversation_id: switchboard::ConversationId,
                users: &[switchboard::UserId],
            ) -> Result<(Vec<switchboard::UserId>, Vec<switchboard::Event>), switchboard::StoreError> {
                let at = switchboard::time::now();
                let mut tx = self.begin_write().await?;
                let room = match Self::room_in(&mut tx, workspace_id, conversation_id).await {
                    Ok(room) => room,
                    Err(e) => {
                        tx.rollback().await.map_err($crate::store::map_err)?;
                        return Err(e);
                    }
                };
                let mut added = Vec::new();
                for user in users {
                    let member: Option<(uuid::Uuid,)> =
                        sqlx::query_as("select user_id from member where workspace_id = $1 and user_id = $2")
                            .bind(workspace_id.as_uuid())
                            .bind(user.as_uuid())
                            .fetch_optional(&mut *tx)
                            .await
                            .map_err($crate::store::map_err)?;
                    if member.is_none() {
                        tx.rollback().await.map_err($crate::store::map_err)?;
                        return Err(switchboard::StoreError::Conflict { constraint: "room_member".into() });
                    }
                    let inserted = sqlx::query(
                        "insert into conversation_member (conversation_id, user_id, added_at, role)
                         values ($1, $2, $3, 'member') on conflict (conversation_id, user_id) do nothing",
                    )
                    .bind(conversation_id.as_uuid())
                    .bind(user.as_uuid())
                    .bind(at)
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::store::map_err)?
                    .rows_affected();
                    if inserted == 1 {
                        added.push(*user);
                    }
                }
                let members = Self::room_members_in(&mut tx, conversation_id).await?;
                let mut events = Vec::new();
                if !added.is_empty() {
                    events.push(Self::members_changed(&mut tx, &room, &members, at).await?);
                    let payload =
                        serde_json::to_value(&room).map_err(|e| switchboard::StoreError::Internal(e.to_string()))?;
                    for user in added {
                        let topic = switchboard::Topic::User(user);
                        let kind = switchboard::EventKind::ConversationCreated;
                        events.push(Self::append_event(&mut tx, workspace_id, topic, kind, payload.clone(), None, at).await?);
                    }
                }
                tx.commit().await.map_err($crate::store::map_err)?;
                self.listener.committed(&events);
                Ok((members, events))
            }

            async fn remove_room_member(
                &self,
                workspace_id: switchboard::WorkspaceId,
                conversation_id: switchboard::ConversationId,
                user_id: switchboard::UserId,
            ) -> Result<(Vec<switchboard::UserId>, Vec<switchboard::Event>), switchboard::StoreError> {
                let at = switchboard::time::now();
                let mut tx = self.begin_write().await?;
                let room = match Self::room_in(&mut tx, workspace_id, conversation_id).await {
                    Ok(room) => room,
                    Err(e) => {
                        tx.rollback().await.map_err($crate::store::map_err)?;
                        return Err(e);
                    }
                };
                let removed = sqlx::query("delete from conversation_member where conversation_id = $1 and user_id = $2")
                    .bind(conversation_id.as_uuid())
                    .bind(user_id.as_uuid())
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::store::map_err)?
                    .rows_affected();
                if removed == 0 {
                    tx.rollback().await.map_err($crate::store::map_err)?;
                    return Err(switchboard::StoreError::NotFound);
                }
                // Their unread counts and stars in the room go with them: nothing of it stays
                // readable through their lists.
                sqlx::query("delete from message_flag where user_id = $1 and conversation_id = $2")
                    .bind(user_id.as_uuid())
                    .bind(conversation_id.as_uuid())
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::store::map_err)?;
                let members = Self::room_members_in(&mut tx, conversation_id).await?;
                let event = Self::members_changed(&mut tx, &room, &members, at).await?;
                tx.commit().await.map_err($crate::store::map_err)?;
                self.listener.committed(std::slice::from_ref(&event));
                Ok((members, vec![event]))
            }

            async fn hidden_rooms(
                &self,
                workspace_id: switchboard::WorkspaceId,
                user_id: switchboard::UserId,
            ) -> Result<Vec<switchboard::ConversationId>, switchboard::StoreError> {
                let rows: Vec<(uuid::Uuid,)> = sqlx::query_as(
                    "select c.conversation_id from conversation c
                     where c.workspace_id = $1 and c.contact_id is null
                       and not exists (select 1 from conversation_member m
                                       where m.conversation_id = c.conversation_id and m.user_id = $2)",
                )
                .bind(workspace_id.as_uuid())
                .bind(user_id.as_uuid())
                .fetch_all(&self.pool)
                .await
                .map_err($crate::store::map_err)?;
                Ok(rows.into_iter().map(|(c,)| c.into()).collect())
            }
        }
    };
}

pub(crate) use impl_rooms;
