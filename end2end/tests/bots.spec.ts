// Chatbot flows from the browser: a flow built in the editor and published, a Mock contact
// writing on its channel, the session watched live on its page while the contact answers, the
// bot's bar above the composer and the "Bot" tag on its messages; a choice's quick-reply buttons
// in the inbox and on the session page; the editor's condition, label, hand-over and call rows
// written as the API keeps them; and a flow with a branch to nowhere refused with its node
// highlighted.
import AxeBuilder from '@axe-core/playwright';
import { Page } from '@playwright/test';
import { ALICE, Channel, Conversation, api, expect, mockWrites, signIn, test } from './helpers';

const SECRET = 'whsec_e2e_bots_secret';
const AA = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22a', 'wcag22aa'];

/** WCAG 2.2 AA on the page as it is: no violations. */
async function axe(page: Page): Promise<void> {
  const results = await new AxeBuilder({ page }).withTags(AA).analyze();
  expect(results.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)).toEqual([]);
}

/** The Mock contact `from` writes `text` on `channel`. */
async function write(page: Page, channel: Channel, from: string, name: string, text: string): Promise<void> {
  await mockWrites(page, channel, SECRET, { id: `wamid.${from}.${Date.now()}`, from, name, text });
}

/** The editor's row of the node with this id. */
function node(page: Page, id: string) {
  return page.locator(`[data-testid="flow-node"][data-node="${id}"]`);
}

test('build_a_flow_and_watch_its_session_live', async ({ page, context }) => {
  test.setTimeout(90_000);
  await signIn(page, ALICE);
  const stamp = Date.now();
  const channel = await api<Channel>(page, 'POST', '/channels', {
    provider: 'mock',
    name: `Bots ${stamp}`,
    config: { webhook_secret: SECRET },
  });
  const flowName = `Welcome ${stamp}`;

  // Build greet (send) → question (ask) in the editor.
  await page.goto('/flows');
  await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1);
  await page.getByRole('button', { name: 'New flow' }).click();
  const editor = page.getByRole('form', { name: 'Flow' });
  await editor.getByLabel('Name', { exact: true }).fill(flowName);
  await editor.getByLabel(`Bots ${stamp} (mock)`).check();
  await editor.getByRole('button', { name: 'Add a node' }).click();
  await node(page, 'node1').getByLabel('Id').fill('greet');
  await node(page, 'greet').getByLabel('Text', { exact: true }).fill('Welcome to the shop!');
  await editor.getByRole('button', { name: 'Add a node' }).click();
  await node(page, 'node1').getByLabel('Id').fill('question');
  await node(page, 'question').getByLabel('Type').selectOption('ask');
  await node(page, 'question').getByLabel('Question', { exact: true }).fill('What is your order number?');
  await node(page, 'question').getByLabel('Keep the answer in').fill('order');
  await node(page, 'greet').getByLabel('Next').selectOption('question');
  await expect(editor.getByLabel('Start node')).toHaveValue('greet');
  await axe(page);
  await editor.getByRole('button', { name: 'Save draft' }).click();
  await expect(editor.getByRole('status')).toHaveText('Draft saved.');
  await editor.getByRole('button', { name: 'Publish' }).click();
  await expect(editor.getByRole('status')).toHaveText('Published.');
  const row = page.getByTestId('flow-row').filter({ hasText: flowName });
  await expect(row).toContainText('version 1');
  await expect(row.getByRole('checkbox')).toBeChecked();

  // A new contact writes on the channel while the sessions page is open: the flow greets them
  // and asks, and its session appears in the list without a reload.
  await page.goto('/bot-sessions');
  await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1);
  const session = page.getByTestId('session-row').filter({ hasText: flowName });
  // Loaded and subscribed (the subscribe loads the list again): what comes next is live.
  await page.waitForLoadState('networkidle');
  await expect(session).toHaveCount(0);
  const from = `+49154${stamp % 1_000_000}`;
  const contact = `Grace ${stamp}`;
  await write(page, channel, from, contact, 'Hi there');
  // The list hears of starts and ends; the step to waiting is the session page's to show.
  await expect(session).toBeVisible();
  await session.getByRole('link').click();
  await expect(page).toHaveURL(/\/bot-sessions\/[0-9a-f-]+$/);
  await expect(page.getByTestId('session-status')).toHaveText('waiting input');
  await expect(page.getByTestId('session-node')).toHaveText('question');
  const transcript = page.getByTestId('session-message');
  await expect(transcript.filter({ hasText: 'Welcome to the shop!' })).toContainText('Bot');
  await expect(transcript.filter({ hasText: 'What is your order number?' })).toContainText('Bot');
  const trail = page.getByTestId('session-trail-node');
  await expect(trail).toHaveCount(2);
  await expect(trail.nth(0)).toContainText('greet');
  await expect(trail.nth(1)).toContainText('question');
  await axe(page);

  // In the inbox, the conversation shows the running bot above the composer, its messages tagged.
  const conversations = await api<Conversation[]>(page, 'GET', '/conversations');
  const conversation = conversations.find((c) => c.channel_id === channel.id)!;
  const inbox = await context.newPage();
  await inbox.goto(`/inbox?c=${conversation.id}`);
  await expect(inbox.locator('body[data-hydrated="true"]')).toHaveCount(1);
  await expect(inbox.getByTestId('bot-bar')).toContainText(`running: ${flowName}, at question`);
  await expect(inbox.getByTestId('message').filter({ hasText: 'Welcome to the shop!' }).getByTestId('bot-tag')).toHaveText('Bot');
  await expect(inbox.getByTestId('message').filter({ hasText: 'Hi there' }).getByTestId('bot-tag')).toHaveCount(0);

  // The contact answers while the session's page is open: it follows without a reload.
  await page.evaluate(() => ((window as unknown as { stayed: boolean }).stayed = true));
  await write(page, channel, from, contact, 'A-1234');
  await expect(transcript.filter({ hasText: 'A-1234' })).toHaveCount(1);
  await expect(transcript.filter({ hasText: 'A-1234' })).not.toContainText('Bot');
  await expect(page.getByTestId('session-status')).toHaveText('completed');
  await expect(page.getByTestId('session-variables')).toContainText('order = A-1234');
  await expect(page.getByRole('button', { name: 'Stop the bot' })).toHaveCount(0);
  expect(await page.evaluate(() => (window as unknown as { stayed?: boolean }).stayed)).toBe(true);
  // The bar goes once the bot has finished.
  await expect(inbox.getByTestId('bot-bar')).toHaveCount(0);
});

test('publish_shows_a_branch_to_nowhere_on_its_node', async ({ page }) => {
  await signIn(page, ALICE);
  const name = `Broken ${Date.now()}`;
  await api(page, 'POST', '/flows', {
    name,
    triggers: { new_conversation_on: [], keywords: [] },
    graph: {
      start: 'first',
      nodes: [
        { id: 'first', label: '', action: { type: 'send', text: 'Hello', next: 'second' } },
        { id: 'second', label: '', action: { type: 'send', text: 'And then', next: 'ghost' } },
      ],
    },
  });
  await page.goto('/flows');
  await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1);
  await page.getByTestId('flow-row').filter({ hasText: name }).getByRole('button', { name: 'Edit' }).click();
  const editor = page.getByRole('form', { name: 'Flow' });
  await expect(node(page, 'second')).toBeVisible();
  await expect(node(page, 'second')).not.toHaveClass(/\bbad\b/);
  await editor.getByRole('button', { name: 'Publish' }).click();
  await expect(editor.getByRole('alert')).toContainText(/ghost/);
  await expect(node(page, 'second')).toHaveClass(/\bbad\b/);
  await expect(node(page, 'first')).not.toHaveClass(/\bbad\b/);
  await expect(page.getByTestId('flow-row').filter({ hasText: name })).toContainText('not published');
});

test('the_bot_bar_follows_its_session_without_a_message', async ({ page, context }) => {
  test.setTimeout(60_000);
  await signIn(page, ALICE);
  const stamp = Date.now();
  const channel = await api<Channel>(page, 'POST', '/channels', {
    provider: 'mock',
    name: `Bar ${stamp}`,
    config: { webhook_secret: SECRET },
  });
  const flowName = `Bar flow ${stamp}`;
  const flow = await api<{ id: string }>(page, 'POST', '/flows', {
    name: flowName,
    triggers: { new_conversation_on: [channel.id], keywords: [] },
    graph: {
      start: 'ask',
      nodes: [
        { id: 'ask', label: '', action: { type: 'ask', text: 'Your name, please?', variable: 'name', next: 'bye' } },
        { id: 'bye', label: '', action: { type: 'end' } },
      ],
    },
  });
  await api(page, 'POST', `/flows/${flow.id}/publish`);
  await api(page, 'PUT', `/flows/${flow.id}/enabled`, { enabled: true });
  await write(page, channel, `+49155${stamp % 1_000_000}`, `Ada ${stamp}`, 'Hello');
  await expect
    .poll(async () => (await api<Conversation[]>(page, 'GET', '/conversations')).some((c) => c.channel_id === channel.id))
    .toBe(true);
  const conversation = (await api<Conversation[]>(page, 'GET', '/conversations')).find((c) => c.channel_id === channel.id)!;
  const inbox = await context.newPage();
  await inbox.goto(`/inbox?c=${conversation.id}`);
  await expect(inbox.locator('body[data-hydrated="true"]')).toHaveCount(1);
  await expect(inbox.getByTestId('bot-bar')).toContainText(`running: ${flowName}, at ask`);
  await inbox.waitForLoadState('networkidle');
  const messages = await inbox.getByTestId('message').count();

  // Stopped from elsewhere (the API, another agent's session page): no message is written,
  // and the bar goes anyway, from the session's own events.
  const session = await api<{ id: string }>(page, 'GET', `/conversations/${conversation.id}/bot`);
  await api(page, 'POST', `/bot-sessions/${session.id}/stop`);
  await expect(inbox.getByTestId('bot-bar')).toHaveCount(0);
  await expect(inbox.getByTestId('message')).toHaveCount(messages);
});

test('a_choice_shows_its_quick_replies_in_the_inbox_and_on_the_session_page', async ({ page, context }) => {
  test.setTimeout(60_000);
  await signIn(page, ALICE);
  const stamp = Date.now();
  const channel = await api<Channel>(page, 'POST', '/channels', {
    provider: 'mock',
    name: `Buttons ${stamp}`,
    config: { webhook_secret: SECRET },
  });
  const flow = await api<{ id: string }>(page, 'POST', '/flows', {
    name: `Buttons flow ${stamp}`,
    triggers: { new_conversation_on: [channel.id], keywords: [] },
    graph: {
      start: 'menu',
      nodes: [
        {
          id: 'menu',
          label: '',
          action: {
            type: 'choice',
            text: 'Sales or support?',
            variable: 'topic',
            choices: [
              { label: 'Sales', next: 'bye' },
              { label: 'Support', next: 'bye' },
            ],
          },
        },
        { id: 'bye', label: '', action: { type: 'send', text: 'Noted: {{topic}}', next: null } },
      ],
    },
  });
  await api(page, 'POST', `/flows/${flow.id}/publish`);
  await api(page, 'PUT', `/flows/${flow.id}/enabled`, { enabled: true });
  const phone = `+49156${stamp % 1_000_000}`;
  await write(page, channel, phone, `Bea ${stamp}`, 'Hello');
  await expect
    .poll(async () => (await api<Conversation[]>(page, 'GET', '/conversations')).some((c) => c.channel_id === channel.id))
    .toBe(true);
  const conversation = (await api<Conversation[]>(page, 'GET', '/conversations')).find((c) => c.channel_id === channel.id)!;
  const inbox = await context.newPage();
  await inbox.goto(`/inbox?c=${conversation.id}`);
  await expect(inbox.locator('body[data-hydrated="true"]')).toHaveCount(1);
  // The Mock network shows buttons: the inbox shows them under the bot's text, not numbered.
  const asked = inbox.getByTestId('message').filter({ hasText: 'Sales or support?' });
  await expect(asked.getByTestId('quick-replies').getByRole('listitem')).toHaveText(['Sales', 'Support']);
  await expect(asked).not.toContainText('1. Sales');

  const session = await api<{ id: string }>(page, 'GET', `/conversations/${conversation.id}/bot`);
  await page.goto(`/bot-sessions/${session.id}`);
  await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1);
  const line = page.getByTestId('session-message').filter({ hasText: 'Sales or support?' });
  await expect(line.getByTestId('quick-replies').getByRole('listitem')).toHaveText(['Sales', 'Support']);
  // The contact's press is its label: the branch follows, live on both pages.
  await write(page, channel, phone, `Bea ${stamp}`, 'Support');
  await expect(page.getByTestId('session-status')).toHaveText('completed');
  await expect(page.getByTestId('session-variables')).toContainText('topic = Support');
  await expect(inbox.getByTestId('message').filter({ hasText: 'Noted: Support' })).toHaveCount(1);
});

test('the_editor_builds_conditions_labels_hand_overs_and_calls', async ({ page }) => {
  test.setTimeout(60_000);
  await signIn(page, ALICE);
  const stamp = Date.now();
  const label = await api<{ id: string; name: string }>(page, 'POST', '/labels', { name: `Refund ${stamp % 100000}` });
  const members = await api<{ user_id: string; name: string }[]>(page, 'GET', '/members');
  const bob = members.find((m) => m.name === 'Bob Chen')!;
  const flowName = `Router ${stamp}`;
  await page.goto('/flows');
  await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1);
  await page.getByRole('button', { name: 'New flow' }).click();
  const editor = page.getByRole('form', { name: 'Flow' });
  await editor.getByLabel('Name', { exact: true }).fill(flowName);
  const add = async (id: string, kind: string) => {
    await editor.getByRole('button', { name: 'Add a node' }).click();
    await node(page, 'node1').getByLabel('Id').fill(id);
    await node(page, id).getByLabel('Type').selectOption(kind);
  };
  await add('check', 'condition');
  await add('tag', 'set_label');
  await add('agent', 'hand_over');
  await add('lookup', 'http');

  // check: "topic contains refund" → tag, otherwise → lookup.
  await node(page, 'check').getByRole('button', { name: 'Add a rule' }).click();
  const rule = node(page, 'check').getByTestId('flow-rule').first();
  await rule.getByLabel('Test').selectOption('contains');
  await rule.getByLabel('Variable').fill('topic');
  await rule.getByLabel('Value').fill('refund');
  await rule.getByLabel('Goes to').selectOption('tag');
  await node(page, 'check').getByLabel('Otherwise').selectOption('lookup');
  // tag: the label, then the agent.
  await node(page, 'tag').getByLabel('Label').selectOption(label.id);
  await node(page, 'tag').getByLabel('Next').selectOption('agent');
  await node(page, 'agent').getByLabel('Give it to').selectOption(bob.user_id);
  // lookup: POST with the variables, both outcomes to the agent.
  await node(page, 'lookup').getByLabel('Method').selectOption('POST');
  await node(page, 'lookup').getByLabel('URL').fill('https://orders.example/lookup');
  await node(page, 'lookup').getByLabel('Body').fill('{"topic": "{{topic}}"}');
  await node(page, 'lookup').getByLabel('Keep the answer in').fill('answer');
  await node(page, 'lookup').getByLabel('On success').selectOption('agent');
  await node(page, 'lookup').getByLabel('On failure').selectOption('agent');
  await editor.getByLabel('Start node').selectOption('check');
  await axe(page);
  await editor.getByRole('button', { name: 'Publish' }).click();
  await expect(editor.getByRole('status')).toHaveText('Published.');

  // What the form wrote is the graph the API keeps.
  const flows = await api<{ id: string; name: string; draft: { start: string; nodes: { id: string; action: Record<string, unknown> }[] } }[]>(page, 'GET', '/flows');
  const flow = flows.find((f) => f.name === flowName)!;
  const action = (id: string) => flow.draft.nodes.find((n) => n.id === id)!.action;
  expect(flow.draft.start).toBe('check');
  expect(action('check')).toMatchObject({
    type: 'condition',
    rules: [{ test: { type: 'contains', variable: 'topic', value: 'refund' }, next: 'tag' }],
    otherwise: 'lookup',
  });
  expect(action('tag')).toMatchObject({ type: 'set_label', label_id: label.id, next: 'agent' });
  expect(action('agent')).toMatchObject({ type: 'hand_over', assignee: bob.user_id });
  expect(action('lookup')).toMatchObject({
    type: 'http',
    method: 'POST',
    url: 'https://orders.example/lookup',
    body: '{"topic": "{{topic}}"}',
    variable: 'answer',
    ok: 'agent',
    failed: 'agent',
  });
});
