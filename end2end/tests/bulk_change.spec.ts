import { expect, test } from '@playwright/test';
import { ADMIN, open, signIn } from '../fixtures/pages';
import { serveWithMail } from '../fixtures/with_mail';

const env = serveWithMail(300);

test.afterEach(async ({}, testInfo) => {
  if (testInfo.status !== testInfo.expectedStatus) console.log(env.server.output().slice(-6000));
});

test('Bulk Change > Reset Password: preview, progress, outcome report and CSV', async ({ page }) => {
  await signIn(page, env.server.url, ADMIN.username, ADMIN.password);
  await expect(page).toHaveURL(/\/users$/);
  const bulk = page.getByRole('button', { name: 'Bulk Change' });
  await expect(bulk).toBeDisabled();
  const rows = page.locator('table.users-table tbody tr');
  for (const i of [1, 2, 3]) await rows.nth(i).getByRole('checkbox').check();
  await expect(page.getByText('3 users selected')).toBeVisible();

  // The menu works from the keyboard: it takes the focus, arrows move, Esc gives it back.
  await bulk.focus();
  await page.keyboard.press('Enter');
  await expect(page.getByRole('menuitem', { name: 'Reset Password' })).toBeFocused();
  await page.keyboard.press('ArrowDown');
  await expect(page.getByRole('menuitem', { name: 'Send Password Change Link' })).toBeFocused();
  await page.keyboard.press('ArrowDown');
  await expect(page.getByRole('menuitem', { name: 'Reset Password' })).toBeFocused();
  await page.keyboard.press('Escape');
  await expect(page.getByRole('menu', { name: 'Bulk Change' })).toHaveCount(0);
  await expect(bulk).toBeFocused();
  await page.keyboard.press('Enter');
  await page.keyboard.press('Enter');
  const dialog = page.getByRole('dialog', { name: 'Bulk Change: Reset Password' });
  await expect(dialog).toContainText('(of 3 selected)');
  await dialog.getByRole('button', { name: 'OK' }).click();

  await expect(page).toHaveURL(/\/users\/bulk\/[0-9a-f-]+$/);
  await expect(page.locator('body[data-hydrated="true"]')).toBeAttached();
  await expect(page.getByRole('status')).toContainText('3 of 3 users processed (100%). Done.');
  await expect(page.getByRole('img', { name: /Outcomes:/ })).toBeVisible();
  await expect(page.getByRole('table', { name: /Outcome per user/ }).locator('tbody tr')).toHaveCount(3);

  const download = page.waitForEvent('download');
  await page.getByRole('link', { name: 'Download report (CSV)' }).click();
  const file = await download;
  expect(file.suggestedFilename()).toMatch(/^bulk-change-.*\.csv$/);
});

test('Bulk Change > Send Password Change Link for a whole search, with skips explained', async ({ page }) => {
  await signIn(page, env.server.url, ADMIN.username, ADMIN.password);
  await expect(page).toHaveURL(/\/users$/);
  // Three or more characters match anywhere in name, username or email (the trigram index).
  await expect(page.getByText('Three or more characters find names, usernames and emails')).toBeVisible();
  await page.getByLabel('Search users').fill('example');
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page).toHaveURL(/q=example/);
  await page.getByLabel('Select all matching this search').check();
  await expect(page.getByText('All users matching this search selected')).toBeVisible();
  const before = env.mail.received.length;

  await page.getByRole('button', { name: 'Bulk Change' }).click();
  await page.getByRole('menuitem', { name: 'Send Password Change Link' }).click();
  const dialog = page.getByRole('dialog', { name: 'Bulk Change: Send Password Change Link' });
  await expect(dialog).toContainText('users will be affected');
  const affected = Number(await dialog.locator('.preview-count strong').innerText());
  expect(affected).toBeGreaterThan(0);
  // Seeded data has disabled, external and email-less users: each skip has its reason.
  await expect(dialog.getByRole('table', { name: 'Skipped' })).toBeVisible();
  await expect(dialog.getByLabel('Invalidate current password now')).toBeChecked();
  await dialog.getByRole('button', { name: 'OK' }).click();

  await expect(page).toHaveURL(/\/users\/bulk\//);
  await expect(page.getByRole('status')).toContainText('Done.', { timeout: 30_000 });
  await expect(page.getByRole('table', { name: /Outcome per user/ })).toContainText('Skipped');
  // Every affected user's email reaches the SMTP env.server.
  await expect.poll(() => env.mail.received.length - before, { timeout: 30_000 }).toBe(affected);
});
