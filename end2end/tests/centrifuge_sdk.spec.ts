// The official Centrifugo JavaScript SDK (npm `centrifuge`), unmodified, against the real
// binary: connect with a token from the API, subscribe to a conversation, receive a message
// sent through REST, disconnect, miss three messages, reconnect and get exactly those three in
// order with `recovered` true.
import { APIRequestContext } from '@playwright/test';
import { Centrifuge, PublicationContext, SubscribedContext } from 'centrifuge';
import WebSocket from 'ws';
import { test, expect } from './helpers';

async function signIn(request: APIRequestContext): Promise<string> {
  const response = await request.post('/api/v1/auth/login', {
    data: { email: 'alice@example.com', password: 'demo-password' },
  });
  expect(response.status()).toBe(200);
  return (await response.json()).token;
}

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('recover_missed_messages_with_the_centrifuge_sdk', async ({ request, baseURL }) => {
  const session = await signIn(request);
  const auth = { Authorization: `Bearer ${session}` };
  const conversations = await (await request.get('/api/v1/conversations', { headers: auth })).json();
  expect(conversations.length).toBeGreaterThan(0);
  const conversationId: string = conversations[0].id;
  const send = async (text: string) => {
    const response = await request.post(`/api/v1/conversations/${conversationId}/messages`, {
      headers: auth,
      data: { text },
    });
    expect(response.status()).toBe(201);
    return (await response.json()).id as string;
  };

  let tokensFetched = 0;
  const client = new Centrifuge(baseURL!.replace(/^http/, 'ws') + '/connection/websocket', {
    websocket: WebSocket,
    getToken: async () => {
      tokensFetched += 1;
      const response = await request.get('/api/v1/realtime/token', { headers: auth });
      return (await response.json()).token;
    },
  });
  const received: PublicationContext[] = [];
  const subscribed: SubscribedContext[] = [];
  const sub = client.newSubscription(`conversation:${conversationId}`);
  sub.on('publication', (ctx) => received.push(ctx));
  sub.on('subscribed', (ctx) => subscribed.push(ctx));
  sub.subscribe();
  client.connect();
  await sub.ready(5000);
  expect(tokensFetched).toBe(1);

  const firstId = await send('through REST, live');
  const live = await until('the live publication', () => received.find((p) => p.data.payload.id === firstId));
  expect(live.data.type).toBe('message.created');
  // The publication carries the topic and offset; its data is only what a client applies.
  expect(live.offset).toBeGreaterThan(0);
  expect(live.data.id).toBeTruthy();
  expect(live.data.offset).toBeUndefined();
  expect(live.data.topic).toBeUndefined();

  client.disconnect();
  const missed = [await send('missed 1'), await send('missed 2'), await send('missed 3')];
  const before = received.length;
  client.connect();
  const resubscribed = await until('the resubscribe', () => (subscribed.length >= 2 ? subscribed[1] : undefined));
  expect(resubscribed.wasRecovering).toBe(true);
  expect(resubscribed.recovered).toBe(true);
  const recovered = await until('the three', () => {
    const created = received.slice(before).filter((p) => p.data.type === 'message.created');
    return created.length >= 3 ? created : undefined;
  });
  expect(recovered.map((p) => p.data.payload.id)).toEqual(missed);
  // Everything since the last publication seen before the disconnect (receipts of the live
  // message may come first), in offset order with no gap and no duplicate.
  const lastSeen = Number(received[before - 1].offset);
  const offsets = received.slice(before).map((p) => Number(p.offset));
  expect(offsets).toEqual(offsets.map((_, i) => lastSeen + 1 + i));

  client.disconnect();
});
