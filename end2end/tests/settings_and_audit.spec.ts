import { expect, Page, test } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { startServer, RunningServer } from '../fixtures/server';
import { ADMIN, asUser, createFirstAdmin, open, openSomeUser, searchFor, signIn, userLink } from '../fixtures/pages';

let server: RunningServer;

test.beforeAll(async ({ browser }) => {
  server = await startServer({ seedUsers: 40 });
  const page = await browser.newPage();
  await createFirstAdmin(page, server.setupLink);
  await page.close();
});

test.afterAll(async () => {
  await server?.stop();
});

/** Eleven characters: refused by the default minimum of 15, accepted once it is 10. */
const SHORT = 'plum quay 7';

function rule(page: Page, text: string) {
  return page.getByRole('complementary').locator('#password-rules li', { hasText: text });
}

/** The open user's id, from the address the console shows for them. */
function userId(page: Page): string {
  const values = [...new URL(page.url()).searchParams.values()];
  const id = values.find((v) => /^[0-9a-f-]{32,36}$/i.test(v));
  if (!id) throw new Error(`no user id in ${page.url()}`);
  return id;
}

/** Calls Change Password's server function from the page, as a tampered browser would. */
async function setPasswordDirectly(page: Page, id: string, password: string) {
  return page.evaluate(
    async ({ id, password }) => {
      const body = new URLSearchParams({ id, password, confirm: password });
      const response = await fetch('/api/passwords/set', { method: 'POST', body });
      return { status: response.status, text: await response.text() };
    },
    { id, password },
  );
}

test('Minimum length on Password Policy changes what Change Password accepts, in the browser and on the server', async ({ page }) => {
  const { name, username } = await openSomeUser(page, server.url, 2);
  const id = userId(page);
  const panel = page.getByRole('complementary');
  await panel.getByRole('button', { name: 'Change Password' }).click();
  const form = panel.getByRole('group', { name: 'Change Password' });
  await form.getByLabel('New Password').fill(SHORT);
  await form.getByLabel('Confirm Password').fill(SHORT);
  await expect(rule(page, 'At least 15 characters')).toHaveClass('unmet');
  await expect(form.getByRole('button', { name: 'Save' })).toBeDisabled();
  // The server refuses it too, whatever the browser shows.
  const refused = await setPasswordDirectly(page, id, SHORT);
  expect(refused.status).toBe(400);
  expect(refused.text).toContain('Use at least 15 characters');

  await page.getByRole('link', { name: 'Password Policy' }).click();
  await expect(page.getByRole('heading', { name: 'Password Policy' })).toBeVisible();
  const minimum = page.getByLabel('Minimum length');
  await expect(minimum).toHaveValue('15');
  // Out of bounds: the browser will not send it, and the server refuses it if sent anyway.
  await minimum.fill('6');
  expect(await minimum.evaluate((e) => (e as HTMLInputElement).validity.rangeUnderflow)).toBe(true);
  const tampered = await page.evaluate(async () => {
    const body = new URLSearchParams({ min_length: '6' });
    const response = await fetch('/api/settings/security/save', { method: 'POST', body });
    return { status: response.status, text: await response.text() };
  });
  expect(tampered.status).toBe(400);
  expect(tampered.text).toContain('Use 8 to');
  await minimum.fill('10');
  // The example check follows the numbers as typed, with the server's block-list.
  const example = page.getByLabel('Example password');
  await example.fill('passwordpassword');
  await expect(page.locator('#try-rules li', { hasText: 'Not a breached or common password' })).toHaveClass('unmet');
  await expect(page.locator('#try-rules li', { hasText: 'At least 10 characters' })).toHaveClass('met');
  await example.fill('a quiet harbour at dawn');
  await expect(page.locator('#try-rules li', { hasText: 'Not a breached or common password' })).toHaveClass('met');
  await page.getByRole('button', { name: 'Save policy' }).click();
  await expect(page.getByRole('status')).toContainText('Saved.');
  await page.reload();
  await expect(page.getByLabel('Minimum length')).toHaveValue('10');

  // Now the same eleven characters pass in the browser and on the server.
  // By username: seeded display names repeat, and a namesake may be disabled or external.
  await open(page, `${server.url}/users`);
  await searchFor(page, username);
  await userLink(page, username, name).click();
  await panel.getByRole('button', { name: 'Change Password' }).click();
  await form.getByLabel('New Password').fill(SHORT);
  await form.getByLabel('Confirm Password').fill(SHORT);
  await expect(rule(page, 'At least 10 characters')).toHaveClass('met');
  await expect(form.getByRole('button', { name: 'Save' })).toBeEnabled();
  const accepted = await setPasswordDirectly(page, id, SHORT);
  expect(accepted.status).toBe(200);
  // A breached password is refused by the server's list whatever its length.
  const breached = await setPasswordDirectly(page, id, 'iloveyou123');
  expect(breached.status).toBe(400);
  expect(breached.text).toContain('breached or common');

  // The change is in the audit trail, old and new.
  await page.getByRole('link', { name: 'Audit' }).click();
  await page.getByLabel('Action').selectOption({ label: 'Settings changed' });
  await page.getByRole('button', { name: 'Filter' }).click();
  await expect(page.locator('.audit-table tbody tr').first()).toContainText('min_length 15 → 10');
  // Put the default back for the other tests.
  await open(page, `${server.url}/management/policy`);
  await page.getByLabel('Minimum length').fill('15');
  await page.getByRole('button', { name: 'Save policy' }).click();
  await expect(page.getByRole('status')).toContainText('Saved.');
});

test('A failed sign-in shows in the Activity chart, and the audit page filters and exports it', async ({ page, browser }) => {
  const { username, name } = await openSomeUser(page, server.url, 5);
  const user = await asUser(browser);
  await signIn(user.page, server.url, username, 'certainly not the right password');
  await expect(user.page.getByRole('alert')).toContainText('Invalid username or password.');
  await user.context.close();

  // The Activity tab: the chart counts it, and its table says the same in words.
  await open(page, `${server.url}/users?q=${encodeURIComponent(username)}`);
  await userLink(page, username, name).click();
  const panel = page.getByRole('complementary');
  await panel.getByRole('tab', { name: 'Activity' }).click();
  const chart = panel.getByRole('img', { name: /Sign-ins over the last 30 days: 0 successful, 1 failed/ });
  await expect(chart).toBeVisible();
  await panel.getByText('Show as a table').click();
  await expect(panel.getByRole('table')).toContainText('1');

  // The audit page: filtered to this person's failed sign-ins.
  await page.getByRole('link', { name: 'Audit' }).click();
  await expect(page.getByRole('heading', { name: 'Audit' })).toBeVisible();
  await page.getByLabel('Target').fill(username);
  await page.getByLabel('Action').selectOption('sign_in');
  await page.getByLabel('Outcome').selectOption('failure');
  await page.getByRole('button', { name: 'Filter' }).click();
  const rows = page.locator('.audit-table tbody tr');
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toContainText(username);
  await expect(rows.first()).toContainText('wrong password');

  // Export CSV downloads exactly the filtered view.
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('link', { name: 'Export CSV' }).click(),
  ]);
  const csv = readFileSync((await download.path())!, 'utf8').trim().split('\n');
  expect(csv[0]).toBe('id,time (UTC),actor,target,action,outcome,ip,detail');
  expect(csv).toHaveLength(2);
  expect(csv[1]).toContain(`${username},sign_in,failure`);
});
