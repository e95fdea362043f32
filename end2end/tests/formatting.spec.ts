// Formatting: a message in the markdown subset shows as formatting on both agents' screens,
// its links are safe, and HTML in a message (a <script> included) is shown as text, never run.
import { test, expect, ALICE, BOB, agent, demoConversation, openConversation } from './helpers';

test('markdown_is_rendered_and_html_stays_text', async ({ browser }) => {
  const alice = await agent(browser, ALICE);
  const bob = await agent(browser, BOB);
  const { conversation } = await demoConversation(alice.page, 2);
  await openConversation(alice.page, conversation.id);
  await openConversation(bob.page, conversation.id);
  const stamp = Date.now();
  const text =
    `**Order ${stamp}** is _on its way_, ~~late~~ \`A-1\` see [the page](https://example.com/o/1) ` +
    `<script>window.__pwned = 1</script> <img src=x onerror="window.__pwned = 2">\n- first\n- second`;
  const composer = alice.page.getByTestId('composer');
  await composer.fill(text);
  await composer.press('Enter');

  for (const page of [alice.page, bob.page]) {
    const bubble = page.getByTestId('message').filter({ hasText: `Order ${stamp}` });
    await expect(bubble).toHaveCount(1);
    await expect(bubble.locator('.text strong')).toHaveText(`Order ${stamp}`);
    await expect(bubble.locator('.text em')).toHaveText('on its way');
    await expect(bubble.locator('.text s')).toHaveText('late');
    await expect(bubble.locator('.text code')).toHaveText('A-1');
    const link = bubble.locator('.text a');
    await expect(link).toHaveText('the page');
    await expect(link).toHaveAttribute('href', 'https://example.com/o/1');
    await expect(link).toHaveAttribute('rel', 'noopener noreferrer nofollow');
    await expect(link).toHaveAttribute('target', '_blank');
    await expect(bubble.locator('.text li')).toHaveText(['first', 'second']);
    // The HTML is text on the screen, and nothing of it became an element or ran.
    await expect(bubble.locator('.text')).toContainText('<script>window.__pwned = 1</script>');
    await expect(bubble.locator('.text')).toContainText('<img src=x');
    await expect(bubble.locator('script, img')).toHaveCount(0);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
  }
});
