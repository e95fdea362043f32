//! The `rpc` command: the writes a client makes over its socket. The method and its arguments
//! are parsed once into an [`Rpc`] and dispatched by `match`; each method takes the same
//! service path as its REST twin, and a refusal carries the HTTP status REST would answer.

use std::time::Duration;

use switchboard::message::SendMessage;
use switchboard::{ConversationId, EventBody, Topic};
use tokio::time::Instant;

use super::super::hub::BusMessage;
use super::super::protocol::{
    Error, MarkReadArgs, Reply, ReplyBody, Rpc, RpcReply, RpcRequest, SendMessageArgs, TypingArgs, codes,
};
use super::commands::Conn;
use crate::services::{Actor, ServiceError};

/// How long a "typing…" lasts at the receivers unless renewed.
const TYPING_TTL_MS: u64 = 6000;

/// Most conversations a connection remembers its access to (then it looks them up again).
const MAX_ACTORS: usize = 256;

impl Conn {
    /// Runs one RPC call; answers its reply (an error reply when refused).
    pub(super) async fn rpc(&mut self, id: u32, req: &RpcRequest) -> String {
        let call = match Rpc::parse(req) {
            Ok(call) => call,
            Err(error) => return Reply::error(id, error).encode(),
        };
        let result = match call {
            Rpc::SendMessage(args) => self.send_message(args).await.map(|(created, message)| {
                // Encoded here, while the message is borrowed.
                Reply::new(id, ReplyBody::Rpc { data: RpcReply::Sent { created, message: &message } })
                    .encode()
            }),
            Rpc::Typing(args) => {
                self.typing(args).await.map(|reply| Reply::new(id, ReplyBody::Rpc { data: reply }).encode())
            }
            Rpc::MarkRead(args) => self
                .mark_read(args)
                .await
                .map(|reply| Reply::new(id, ReplyBody::Rpc { data: reply }).encode()),
        };
        result.unwrap_or_else(|error| Reply::error(id, error).encode())
    }

    /// The caller as a member of the conversation's workspace, looked up once per conversation.
    async fn actor(&mut self, conversation_id: ConversationId) -> Result<Actor, Error> {
        if let Some(actor) = self.actors.get(&conversation_id) {
            return Ok(*actor);
        }
        let actor = self.gateway.conversation_actor(self.who.user.id, conversation_id).await?;
        if self.actors.len() >= MAX_ACTORS {
            self.actors.clear();
        }
        self.actors.insert(conversation_id, actor);
        Ok(actor)
    }

    async fn send_message(&mut self, args: SendMessageArgs) -> Result<(bool, switchboard::Message), Error> {
        let actor = self.actor(args.conversation_id).await?;
        let req = SendMessage {
            text: args.text,
            client_message_id: args.client_message_id,
            reply_to: args.reply_to,
            attachments: args.attachments,
            template: None,
            parent_id: args.parent_id,
            show_in_conversation: args.show_in_conversation,
            note: args.note,
            buttons: args.buttons,
        };
        let trace = Some(uuid::Uuid::now_v7().to_string());
        let sent = self
            .gateway
            .messages()
            .send(actor, args.conversation_id, req, None, trace)
            .await
            .map_err(rpc_error)?;
        Ok((sent.created, sent.message))
    }

    async fn typing(&mut self, args: TypingArgs) -> Result<RpcReply<'static>, Error> {
        let actor = self.actor(args.conversation_id).await?;
        let now = Instant::now();
        let recent =
            self.typing.get(&args.conversation_id).is_some_and(|t| now - *t < Duration::from_secs(1));
        if !recent {
            // Typing is saying one is about to post: for those who may (checked when it is
            // relayed; a refusal is never remembered as recent).
            self.gateway.may_post(actor, args.conversation_id).await.map_err(rpc_error)?;
            self.typing.insert(args.conversation_id, now);
            let body = EventBody::Typing(switchboard::event::Typing {
                conversation_id: args.conversation_id,
                user_id: self.who.user.id,
                name: self.who.user.name.clone(),
                expires_in_ms: TYPING_TTL_MS,
            });
            self.gateway.realtime().publish(BusMessage::Ephemeral {
                topic: Topic::Conversation(args.conversation_id).to_string(),
                body,
                except: Some(self.handle.client.to_string()),
            });
        }
        Ok(RpcReply::Typing { expires_in_ms: TYPING_TTL_MS })
    }

    async fn mark_read(&mut self, args: MarkReadArgs) -> Result<RpcReply<'static>, Error> {
        let actor = self.actor(args.conversation_id).await?;
        let unread_count = self
            .gateway
            .messages()
            .mark_read(actor, args.conversation_id, args.up_to)
            .await
            .map_err(rpc_error)?;
        Ok(RpcReply::MarkedRead { unread_count })
    }
}

/// The same refusal the REST call gives ([`ServiceError::refusal`], the one mapping), as a
/// protocol error: the HTTP status is the code, the sentence the message. 429 and 503 are
/// `temporary` (the SDK may retry); any other server-side failure is the protocol's 100.
pub(crate) fn rpc_error(err: ServiceError) -> Error {
    let refusal = err.refusal();
    match refusal.status {
        429 | 503 => Error::temporary(u32::from(refusal.status), refusal.message),
        500..=599 => Error::temporary(codes::INTERNAL, "internal server error"),
        status => Error::new(u32::from(status), refusal.message),
    }
}
