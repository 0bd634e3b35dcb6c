import { expect, test } from '@playwright/test';
import { startServer, RunningServer } from '../fixtures/server';
import { ADMIN, createFirstAdmin, open, searchFor, signIn, userLink } from '../fixtures/pages';

let server: RunningServer;

test.beforeAll(async () => {
  server = await startServer({ seedUsers: 300 });
});

test.afterEach(async ({}, testInfo) => {
  if (testInfo.status !== testInfo.expectedStatus) console.log(server.output().slice(-3000));
});

test.afterAll(async () => {
  await server?.stop();
});

test('a new install is set up from the console link, then the admin finds a user', async ({ page }) => {
  // The setup form checks the password policy as the person types.
  await open(page, server.setupLink);
  await page.getByLabel('New Password').fill('short');
  await expect(page.getByRole('listitem').filter({ hasText: 'At least 15 characters' })).toHaveClass('unmet');
  await page.getByLabel('New Password').fill(ADMIN.password);
  await expect(page.getByRole('listitem').filter({ hasText: 'At least 15 characters' })).toHaveClass('met');

  await createFirstAdmin(page, server.setupLink);
  await expect(page.getByRole('status')).toContainText('Administrator created');

  // The link was single-use.
  await open(page, server.setupLink);
  await expect(page.getByRole('alert')).toContainText('not valid any more');

  await signIn(page, server.url, ADMIN.username, ADMIN.password);
  await expect(page).toHaveURL(/\/users$/);
  await expect(page.getByRole('heading', { name: 'Users' })).toBeVisible();
  await expect(page.getByRole('navigation', { name: 'Console' })).toContainText('Accounts');

  // Pick a seeded user from the first page and search for them by username.
  const rows = page.locator('table.users-table tbody tr');
  await expect(rows).toHaveCount(50);
  const username = (await rows.nth(7).locator('td').nth(2).innerText()).trim();
  const displayName = (await rows.nth(7).locator('td').nth(1).innerText()).trim();
  // Usernames that hold this one (a longer serial) are found too, after it.
  await searchFor(page, username);
  await expect(page).toHaveURL(new RegExp(`q=${username.replace('.', '\\.')}`));
  const found = await rows.count();

  // Opening the name shows the details panel beside the list, and the URL names the user.
  await userLink(page, username, displayName).click();
  const panel = page.getByRole('complementary');
  await expect(panel.getByRole('heading', { name: displayName })).toBeVisible();
  await expect(panel.getByRole('tabpanel')).toContainText(username);
  await expect(page).toHaveURL(/user=[0-9a-f-]{36}/);
  await expect(rows).toHaveCount(found);

  // The URL can be reloaded (or shared) and shows the same panel.
  await open(page, page.url());
  await expect(page.getByRole('complementary').getByRole('heading', { name: displayName })).toBeVisible();

  await panel.getByRole('tab', { name: 'Activity' }).click();
  await expect(panel.getByRole('tab', { name: 'Activity' })).toHaveAttribute('aria-selected', 'true');
  await expect(panel.getByText('No activity recorded yet.')).toBeVisible();

  await panel.getByRole('link', { name: 'Close user details' }).click();
  await expect(page.getByRole('complementary')).toHaveCount(0);
});

test('a wrong password is refused with a clear message and no session', async ({ page }) => {
  await signIn(page, server.url, ADMIN.username, 'not the password at all!');
  await expect(page.getByRole('alert')).toContainText('Invalid username or password.');
  await expect(page).toHaveURL(/\/login(\?|$)/);
  await open(page, `${server.url}/users`);
  await expect(page).toHaveURL(/\/login$/);
});

test('the admin can page through users and sees their own sign-in in Activity', async ({ page }) => {
  await signIn(page, server.url, ADMIN.username, ADMIN.password);
  await expect(page).toHaveURL(/\/users$/);
  const firstUsername = page.locator('table.users-table tbody tr').first().locator('td').nth(2);
  const firstOnPageOne = (await firstUsername.innerText()).trim();
  await page.getByRole('link', { name: 'Next page' }).click();
  await expect(page).toHaveURL(/after=/);
  await expect(firstUsername).not.toHaveText(firstOnPageOne);
  await page.getByRole('link', { name: 'First page' }).click();
  await expect(firstUsername).toHaveText(firstOnPageOne);

  await page.getByLabel('Search users').fill(ADMIN.username);
  await page.getByRole('button', { name: 'Search' }).click();
  await page.getByRole('link', { name: ADMIN.displayName }).click();
  const panel = page.getByRole('complementary');
  await panel.getByRole('tab', { name: 'Activity' }).click();
  await expect(panel.getByRole('listitem').filter({ hasText: 'sign in' }).first()).toContainText('success');
  await expect(panel.getByRole('listitem').filter({ hasText: 'setup first administrator' })).toBeVisible();
});

test('the search answers the Enter key, and Sign out ends the session', async ({ page }) => {
  await signIn(page, server.url, ADMIN.username, ADMIN.password);
  await expect(page).toHaveURL(/\/users$/);
  const search = page.getByLabel('Search users');
  await search.fill(ADMIN.username);
  await search.press('Enter');
  await expect(page).toHaveURL(new RegExp(`/users\\?q=${ADMIN.username.replace('.', '\\.')}$`));
  await expect(userLink(page, ADMIN.username, ADMIN.displayName)).toBeVisible();
  await expect(search).toHaveValue(ADMIN.username);

  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/login$/);
  // The sign-in page the console led to (rendered in the browser) posts as a plain form: a
  // wrong password comes back with its error, the right one signs in.
  await page.getByLabel('Username or email').fill(ADMIN.username);
  await page.getByLabel('Password', { exact: true }).fill('not the password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert')).toContainText('Invalid username or password.');
  await page.getByLabel('Password', { exact: true }).fill(ADMIN.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/users$/);
  await expect(page.getByRole('button', { name: 'Sign out' })).toBeVisible();

  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/login$/);
  // Ended on the server, not only in this tab.
  await open(page, `${server.url}/users`);
  await expect(page).toHaveURL(/\/login$/);
});
