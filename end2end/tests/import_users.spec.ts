import { expect, test } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { ADMIN, open, signIn } from '../fixtures/pages';
import { serveWithMail } from '../fixtures/with_mail';

const env = serveWithMail(20);

const CSV = [
  'username,display_name,email,role,active',
  'imported.one,Imported One,imported.one@example.com,User,yes',
  'imported.two,Imported Two,imported.two@example.com,Password Manager,yes',
  'bad name,Has A Space,,,',
  'imported.one,Twice In The File,,,',
].join('\n');

test('Import a CSV with a bad row: read the preview, run it, read the report', async ({ page }) => {
  await signIn(page, env.server.url, ADMIN.username, ADMIN.password);
  await page.getByRole('link', { name: 'Import users' }).click();
  await expect(page.getByRole('heading', { name: 'Import users' })).toBeVisible();

  // A file in another encoding is refused whole, with how to fix it.
  await page.getByLabel('CSV file').setInputFiles({
    name: 'latin1.csv',
    mimeType: 'text/csv',
    buffer: Buffer.from('username\nren\xe9\n', 'latin1'),
  });
  await page.getByRole('button', { name: 'Upload and preview' }).click();
  await expect(page.getByRole('alert')).toContainText('not UTF-8 text (line 2)');

  await page.getByLabel('CSV file').setInputFiles({ name: 'people.csv', mimeType: 'text/csv', buffer: Buffer.from(CSV) });
  await page.getByRole('button', { name: 'Upload and preview' }).click();
  await expect(page).toHaveURL(/\/users\/import\/[0-9a-f-]+$/);
  await expect(page.getByRole('status')).toContainText('4 rows. 2 new, 0 updated, 0 unchanged, 2 with errors. Nothing has changed yet.');
  await expect(page.getByRole('img', { name: /Outcomes: New: 2, Updated: 0, Unchanged: 0, Error: 2/ })).toBeVisible();
  const errors = page.getByRole('table', { name: /Rows with errors/ });
  await expect(errors.getByRole('row', { name: /4 bad name error A username may contain/ })).toBeVisible();
  await expect(errors.getByRole('row', { name: /5 imported\.one error the same username is on line 2/ })).toBeVisible();

  await page.getByLabel('Send Password Change Link to new users').check();
  const before = env.mail.received.length;
  await page.getByRole('button', { name: 'Start import' }).click();
  await expect(page.getByRole('status')).toContainText('4 of 4 rows imported (100%). Done.');
  await expect(page.getByRole('img', { name: /Created: 2/ })).toBeVisible();

  // The new people got their welcome email through the real SMTP server.
  const welcome = await env.mail.waitFor('imported.one@example.com', { after: before });
  expect(welcome.subject).toContain('Welcome');

  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('link', { name: 'Download report (CSV)' }).click(),
  ]);
  const report = readFileSync(await download.path(), 'utf8');
  expect(report).toContain('2,imported.one,created,welcome email queued');
  expect(report).toContain('4,bad name,error');

  // They are in the directory, with the role the file gave them.
  await open(page, `${env.server.url}/users?q=imported.two`);
  await expect(page.getByRole('row', { name: /Imported Two imported\.two .* Password Manager/ })).toBeVisible();
});
