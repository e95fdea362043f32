import { deflateSync } from 'node:zlib';
import { test, expect, ALICE, BOB, agent, demoConversation, openConversation } from './helpers';

/** A PNG of `width` × `height`: a gradient, encoded here (no file outside the repo). */
function png(width: number, height: number): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (bytes: Buffer) => {
    let c = 0xffffffff;
    for (const b of bytes) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const sum = Buffer.alloc(4);
    sum.writeUInt32BE(crc(body));
    return Buffer.concat([length, body, sum]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  const rows = Buffer.alloc(height * (1 + width * 3));
  for (let y = 0; y < height; y++) {
    const row = y * (1 + width * 3);
    for (let x = 0; x < width; x++) {
      rows.set([(x * 255) / width, (y * 255) / height, 160], row + 1 + x * 3);
    }
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(rows)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A one-page PDF. */
function pdf(): Buffer {
  return Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');
}

test('send_a_photo_and_a_pdf_see_them_live_open_and_download', async ({ browser }) => {
  const alice = await agent(browser, ALICE);
  const bob = await agent(browser, BOB);
  const { conversation } = await demoConversation(alice.page, 4);
  await openConversation(alice.page, conversation.id);
  await openConversation(bob.page, conversation.id);

  // Picked with the attach button: each file uploads with its own progress, then Send is back.
  await alice.page.getByTestId('attach-input').setInputFiles([
    { name: 'chart.png', mimeType: 'image/png', buffer: png(640, 400) },
    { name: 'report.pdf', mimeType: 'application/pdf', buffer: pdf() },
  ]);
  const pending = alice.page.getByTestId('pending-file');
  await expect(pending).toHaveCount(2);
  await expect(alice.page.getByRole('button', { name: 'Send' })).toHaveText('Send', { timeout: 10_000 });
  await expect(pending.filter({ hasText: 'chart.png' })).not.toContainText('Uploading');
  const caption = `Quarterly numbers ${Date.now()}`;
  await alice.page.getByTestId('composer').fill(caption);
  await alice.page.getByTestId('composer').press('Enter');
  await expect(pending).toHaveCount(0);

  // Live on Bob's screen: the photo at its size before it loads, and the document's chip.
  const message = bob.page.getByTestId('message').filter({ hasText: caption });
  await expect(message).toBeVisible({ timeout: 5_000 });
  const photo = message.locator('[data-kind="image"] img');
  await expect(photo).toHaveAttribute('width', '280');
  await expect(photo).toHaveAttribute('height', '175');
  await expect.poll(() => photo.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBeGreaterThan(0);
  const chip = message.locator('[data-kind="document"]');
  await expect(chip).toContainText('report.pdf');
  await expect(chip).toContainText('PDF');

  // The photo opens full size, and Escape closes it.
  await photo.click();
  const lightbox = bob.page.getByTestId('lightbox');
  await expect(lightbox).toBeVisible();
  await expect.poll(() => lightbox.locator('img').evaluate((img: HTMLImageElement) => img.naturalWidth)).toBe(640);
  await bob.page.keyboard.press('Escape');
  await expect(lightbox).toHaveCount(0);

  // The PDF downloads under its name, as sent.
  const [download] = await Promise.all([bob.page.waitForEvent('download'), chip.click()]);
  expect(download.suggestedFilename()).toBe('report.pdf');
  const stream = await download.createReadStream();
  const chunks: Buffer[] = [];
  for await (const part of stream) chunks.push(part as Buffer);
  expect(Buffer.concat(chunks).equals(pdf())).toBe(true);

  // The list shows the caption as the preview.
  await expect(bob.page.getByTestId('conversation-item').filter({ hasText: conversation.title })).toContainText(caption);
  await alice.context.close();
  await bob.context.close();
});

test('a_contact_sends_a_voice_note_that_plays', async ({ browser }) => {
  const alice = await agent(browser, ALICE);
  const { conversation } = await demoConversation(alice.page, 4);
  await openConversation(alice.page, conversation.id);
  const composer = alice.page.getByTestId('composer');
  await composer.fill(`Could you send a #voice note? ${Date.now()}`);
  await composer.press('Enter');
  // The Mock contact answers with a voice note, fetched into the server's blob store.
  const voice = alice.page.locator('[data-kind="voice"]').last();
  await expect(voice).toBeVisible({ timeout: 10_000 });
  await expect(voice).toContainText('Voice message, 0:03');
  const audio = voice.locator('audio');
  await audio.evaluate((a: HTMLAudioElement) => a.play());
  await expect.poll(() => audio.evaluate((a: HTMLAudioElement) => a.currentTime), { timeout: 5_000 }).toBeGreaterThan(0.2);
  expect(await audio.evaluate((a: HTMLAudioElement) => Math.round(a.duration))).toBe(3);
  await alice.context.close();
});

test('drop_and_paste_files_refuse_bad_ones_and_keep_files_to_their_conversation', async ({ browser }) => {
  const alice = await agent(browser, ALICE);
  const { conversation } = await demoConversation(alice.page, 4);
  await openConversation(alice.page, conversation.id);
  // A drop on the composer and a paste into the text field each add a file.
  const drop = await alice.page.evaluateHandle((bytes: number[]) => {
    const transfer = new DataTransfer();
    transfer.items.add(new File([new Uint8Array(bytes)], 'dropped.png', { type: 'image/png' }));
    return transfer;
  }, [...png(40, 30)]);
  await alice.page.locator('form.composer').dispatchEvent('drop', { dataTransfer: drop });
  await alice.page.getByTestId('composer').evaluate((field, bytes: number[]) => {
    const transfer = new DataTransfer();
    transfer.items.add(new File([new Uint8Array(bytes)], 'pasted.txt', { type: 'text/plain' }));
    field.dispatchEvent(new ClipboardEvent('paste', { clipboardData: transfer, bubbles: true, cancelable: true }));
  }, [...Buffer.from('notes from the call')]);
  const pending = alice.page.getByTestId('pending-file');
  await expect(pending).toHaveCount(2);
  await expect(alice.page.getByRole('button', { name: 'Send' })).toHaveText('Send', { timeout: 10_000 });
  // Removed before sending: it is not sent.
  await alice.page.getByRole('button', { name: 'Remove pasted.txt' }).click();
  await expect(pending).toHaveCount(1);
  await alice.page.getByTestId('composer').press('Enter');
  const sent = alice.page.getByTestId('message').filter({ has: alice.page.locator('img[alt="dropped.png"]') });
  await expect(sent).toHaveCount(1);
  await expect(sent).toHaveAttribute('data-status', /sent|delivered|read/, { timeout: 5_000 });
  await expect(sent.locator('[data-kind="document"]')).toHaveCount(0);

  // A file the server refuses stays in the list with the reason, and holds the send back
  // until it is removed.
  await alice.page.getByTestId('attach-input').setInputFiles([
    { name: 'setup.exe', mimeType: 'application/octet-stream', buffer: Buffer.from([0x4d, 0x5a, 0x90, 0, 3, 0, 0, 0]) },
  ]);
  await expect(pending.filter({ hasText: 'setup.exe' })).toContainText('not accepted');
  await expect(alice.page.getByTestId('files-problem')).toBeVisible();
  await expect(alice.page.getByRole('button', { name: 'Send' })).toBeDisabled();
  await alice.page.getByRole('button', { name: 'Remove setup.exe' }).click();
  await expect(alice.page.getByRole('button', { name: 'Send' })).toBeEnabled();

  // Files belong to their conversation: opening another one leaves them behind.
  await alice.page.getByTestId('attach-input').setInputFiles([
    { name: 'stays.png', mimeType: 'image/png', buffer: png(20, 20) },
  ]);
  await expect(pending).toHaveCount(1);
  const { conversation: other } = await demoConversation(alice.page, 3);
  await alice.page.getByTestId('conversation-item').filter({ hasText: other.title }).click();
  await expect(alice.page.getByTestId('thread-title')).toHaveText(other.title);
  await expect(pending).toHaveCount(0);
  await alice.context.close();
});
