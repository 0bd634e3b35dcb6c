import { expect, Page, test } from '@playwright/test';
import { startServer, RunningServer } from '../fixtures/server';
import { ADMIN, asUser, createFirstAdmin, open, openSomeUser as openUser, setNewPasswordRefusingOld, signIn } from '../fixtures/pages';

let server: RunningServer;

test.beforeAll(async ({ browser }) => {
  server = await startServer({ seedUsers: 60 });
  const page = await browser.newPage();
  await createFirstAdmin(page, server.setupLink);
  await page.close();
});

test.afterAll(async () => {
  await server?.stop();
});

const FIRST = 'first temporary passphrase 1';
const openSomeUser = (page: Page, row: number) => openUser(page, server.url, row);
const CHOSEN = 'my very own passphrase, at last';

/** Changes the open user's password, submitting with the Save button or with Enter in the
 *  Confirm Password field; either way only the confirmation dialog's button changes anything. */
async function changePassword(page: Page, password: string, mustReset: boolean, submit: 'Save' | 'Enter' = 'Save') {
  const panel = page.getByRole('complementary');
  await panel.getByRole('button', { name: 'Change Password' }).click();
  const form = panel.getByRole('group', { name: 'Change Password' });
  await form.getByLabel('New Password').fill(password);
  await form.getByLabel('Confirm Password').fill(password);
  if (mustReset) await form.getByLabel('Must Reset Password at Next Login').check();
  if (submit === 'Enter') await form.getByLabel('Confirm Password').press('Enter');
  else await form.getByRole('button', { name: 'Save' }).click();
  const dialog = page.getByRole('dialog', { name: "Change this user's password?" });
  await expect(dialog).toContainText('the old password stops working');
  if (mustReset) await expect(dialog).toContainText('must change it at the next sign-in');
  await dialog.getByRole('button', { name: 'Yes, Reset Password' }).click();
  await expect(panel.getByRole('status')).toContainText('Password changed');
}

test('Change Password sets a password the user can sign in with; the old one dies at once', async ({ page, browser }) => {
  const { username } = await openSomeUser(page, 3);
  await changePassword(page, FIRST, false);

  const user = await asUser(browser);
  await signIn(user.page, server.url, username, FIRST);
  await expect(user.page).toHaveURL(/\/account$/);
  await expect(user.page.getByRole('heading', { name: 'Your account' })).toBeVisible();

  // The admin replaces it: the user's session ends and the old password is refused.
  await changePassword(page, CHOSEN, false, 'Enter');
  await open(user.page, `${server.url}/account`);
  await expect(user.page).toHaveURL(/\/login$/);
  await signIn(user.page, server.url, username, FIRST);
  await expect(user.page.getByRole('alert')).toContainText('Invalid username or password.');
  await user.context.close();
});

test('Force Password Reset on Next Login sends the user to set a new password, and only there', async ({ page, browser }) => {
  const { username } = await openSomeUser(page, 5);
  await changePassword(page, FIRST, false);

  const user = await asUser(browser);
  await signIn(user.page, server.url, username, FIRST);
  await expect(user.page).toHaveURL(/\/account$/);

  const panel = page.getByRole('complementary');
  const force = panel.getByLabel('Force Password Reset on Next Login');
  await force.check();
  await panel.getByRole('group', { name: 'Force Password Reset' }).getByRole('button', { name: 'Save' }).click();
  const dialog = page.getByRole('dialog', { name: 'Force password reset?' });
  await expect(dialog).toContainText('signed out everywhere');
  await dialog.getByRole('button', { name: 'Yes, Reset Password' }).click();
  await expect(panel.getByRole('status')).toContainText('Password reset forced');
  // While the reset is pending the box stays ticked and greyed out, and the row says so.
  await expect(force).toBeChecked();
  await expect(force).toBeDisabled();
  await expect(panel.getByText('reset pending')).toBeVisible();
  // The list beside the panel re-reads and says so too.
  const row = page
    .locator('table.users-table tbody tr')
    .filter({ has: page.getByRole('cell', { name: username, exact: true }) });
  await expect(row).toContainText('reset pending');

  // The user's session is gone; the old password now opens only the change page.
  await open(user.page, `${server.url}/account`);
  await expect(user.page).toHaveURL(/\/login$/);
  await signIn(user.page, server.url, username, FIRST);
  await expect(user.page).toHaveURL(/\/account\/password$/);
  await expect(user.page.getByRole('heading', { name: 'Set a new password' })).toBeVisible();
  await open(user.page, `${server.url}/account`);
  await expect(user.page).toHaveURL(/\/account\/password$/);

  // The same password again is refused; a new one is accepted and signs the user in fully.
  await setNewPasswordRefusingOld(user.page, FIRST, CHOSEN);
  await user.context.close();

  // Back in the console the flag is cleared and the box can be used again.
  await open(page, page.url());
  await expect(page.getByRole('complementary').getByLabel('Force Password Reset on Next Login')).toBeEnabled();
  await expect(page.getByRole('complementary').getByLabel('Force Password Reset on Next Login')).not.toBeChecked();
});

test('a signed-in user changes their own password with the current one', async ({ page, browser }) => {
  const { username } = await openSomeUser(page, 7);
  await changePassword(page, FIRST, false);
  const user = await asUser(browser);
  await signIn(user.page, server.url, username, FIRST);
  await expect(user.page).toHaveURL(/\/account$/);
  await open(user.page, `${server.url}/account/password`);
  await expect(user.page.getByRole('heading', { name: 'Change Password' })).toBeVisible();
  await user.page.getByLabel('Current password').fill('not my password');
  await user.page.getByLabel('New Password').fill(CHOSEN);
  await user.page.getByLabel('Confirm Password').fill(CHOSEN);
  await user.page.getByRole('button', { name: 'Change Password' }).click();
  await expect(user.page.getByRole('alert')).toContainText('current password is not correct');
  // A plain page: the server answered with the page again, and never echoes passwords back.
  await user.page.getByLabel('Current password').fill(FIRST);
  await user.page.getByLabel('New Password').fill(CHOSEN);
  await user.page.getByLabel('Confirm Password').fill(CHOSEN);
  await user.page.getByRole('button', { name: 'Change Password' }).click();
  await expect(user.page).toHaveURL(/\/account$/);
  await user.context.close();
});

test('Reset beside the failed sign-ins lets a locked user in again', async ({ page, browser }) => {
  const { username } = await openSomeUser(page, 9);
  await changePassword(page, FIRST, false);
  const user = await asUser(browser);
  for (let i = 0; i < 5; i++) {
    await signIn(user.page, server.url, username, `not the password ${i}, long enough`);
    await expect(user.page.getByRole('alert')).toContainText('Invalid username or password.');
  }
  await signIn(user.page, server.url, username, FIRST);
  await expect(user.page.getByRole('alert')).toContainText('Invalid username or password.');

  await open(page, page.url());
  const panel = page.getByRole('complementary');
  await expect(panel.getByText('locked', { exact: true })).toBeVisible();
  const failures = panel.getByRole('group', { name: 'Failed sign-ins' });
  await expect(failures).toContainText('5 failed sign-in(s) in a row; locked until');
  await failures.getByRole('button', { name: 'Reset', exact: true }).click();
  await expect(panel.getByRole('status')).toContainText('Failed sign-ins reset to 0');
  await expect(failures).toBeHidden();
  await signIn(user.page, server.url, username, FIRST);
  await expect(user.page).toHaveURL(/\/account$/);
  await user.context.close();
});

test('a refused Change Password keeps the form open with the server\'s reason beside the field', async ({ page }) => {
  await openSomeUser(page, 11);
  const panel = page.getByRole('complementary');
  await panel.getByRole('button', { name: 'Change Password' }).click();
  const form = panel.getByRole('group', { name: 'Change Password' });
  const save = form.getByRole('button', { name: 'Save' });
  await expect(save).toBeDisabled();
  await form.getByLabel('New Password').fill('too short');
  await form.getByLabel('Confirm Password').fill('too short');
  // The browser's own check (the same Rust rule) keeps Save off...
  await expect(save).toBeDisabled();
  // ...but the server is the real check: a page that skips it is refused, and says why.
  await save.evaluate((button) => { (button as HTMLButtonElement).disabled = false; });
  await save.click();
  const dialog = page.getByRole('dialog', { name: "Change this user's password?" });
  await dialog.getByRole('button', { name: 'Yes, Reset Password' }).click();
  await expect(form.getByRole('alert')).toContainText('Use at least 15 characters');
  await expect(form).toBeVisible();
  await expect(form.getByLabel('New Password')).toHaveValue('too short');
  await expect(form.getByLabel('New Password')).toHaveAttribute('aria-invalid', 'true');

  // Corrected in place, Save comes back on and the change goes through.
  await form.getByLabel('New Password').fill(CHOSEN);
  await form.getByLabel('Confirm Password').fill(CHOSEN);
  await expect(save).toBeEnabled();
  await save.click();
  await dialog.getByRole('button', { name: 'Yes, Reset Password' }).click();
  await expect(panel.getByRole('status')).toContainText('Password changed');
});
