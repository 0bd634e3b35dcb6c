import { expect, test } from '@playwright/test';

const URL = 'http://127.0.0.1:3100';
test.use({ viewport: { width: 1400, height: 900 } });

test('tour', async ({ page }) => {
  test.setTimeout(240_000);
  await page.goto(URL + '/login');
  await page.getByLabel('Username').fill('root');
  await page.getByLabel('Password', { exact: true }).fill('a long and unusual admin passphrase');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/users$/);
  await expect(page.locator('body[data-hydrated="true"]')).toBeAttached();
  await page.getByLabel('Search users').fill('lovel');
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page).toHaveURL(/q=lovel/);
  await page.getByLabel('Select all matching this search').check();
  await page.screenshot({ path: '/tmp/shots/1-search.png' });
  await page.getByRole('button', { name: 'Bulk Change' }).click();
  await page.getByRole('menuitem', { name: 'Send Password Change Link' }).click();
  const dialog = page.getByRole('dialog', { name: /Send Password Change Link/ });
  await expect(dialog).toBeVisible();
  await page.screenshot({ path: '/tmp/shots/2-dialog.png' });
  await dialog.getByRole('button', { name: 'OK' }).click();
  await expect(page).toHaveURL(/\/users\/bulk\/[0-9a-f-]+$/);
  await page.waitForTimeout(1500);
  await page.screenshot({ path: '/tmp/shots/3-progress.png' });
  await expect(page.getByRole('status')).toContainText('Done.', { timeout: 120_000 });
  await page.screenshot({ path: '/tmp/shots/4-done.png', fullPage: true });
  await page.goto(URL + '/management/email');
  await expect(page.locator('body[data-hydrated="true"]')).toBeAttached();
  await page.waitForTimeout(1000);
  await page.screenshot({ path: '/tmp/shots/5-email.png', fullPage: true });
});
