import { expect, Page, test } from '@playwright/test';
import { resetLinkIn } from '../fixtures/smtp';
import { ADMIN, asUser, open, signIn, userLink } from '../fixtures/pages';
import { serveWithMail } from '../fixtures/with_mail';

const env = serveWithMail(30);

const GRACE = { username: 'grace.hopper', name: 'Grace Hopper', email: 'grace@example.com' };
const GRACE_PASSWORD = 'a compiler is a fine first passphrase';

async function addUser(page: Page, person: { username: string; name: string; email: string }, access: string) {
  await signIn(page, env.server.url, ADMIN.username, ADMIN.password);
  await page.getByRole('link', { name: 'Add user' }).click();
  await expect(page.getByRole('heading', { name: 'Add user' })).toBeVisible();
  await page.getByLabel('Username', { exact: true }).fill(person.username);
  await page.getByLabel('Display name').fill(person.name);
  await page.getByLabel('Email', { exact: true }).fill(person.email);
  await page.getByLabel(access).check();
  await page.getByRole('button', { name: 'Add user' }).click();
  await expect(page.getByRole('status')).toContainText(`Added ${person.username}.`);
}

/** Opens the details panel of `username` from the Users page. */
async function openUser(page: Page, username: string, name: string) {
  await open(page, `${env.server.url}/users?q=${encodeURIComponent(username)}`);
  await userLink(page, username, name).click();
  const panel = page.getByRole('complementary');
  await expect(panel.getByRole('heading', { name })).toBeVisible();
  return panel;
}

test('Add user with a welcome email: the link from the real SMTP server sets the first password', async ({ page, browser }) => {
  // Each field is checked as it is typed, by the rule the server runs.
  await signIn(page, env.server.url, ADMIN.username, ADMIN.password);
  await open(page, `${env.server.url}/users/new`);
  await page.getByLabel('Username', { exact: true }).fill('has space');
  await page.getByLabel('Display name').focus();
  await expect(page.getByText('A username may contain letters, digits and . _ - @ only.')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Add user' })).toBeDisabled();

  const before = env.mail.received.length;
  await addUser(page, GRACE, 'Send a welcome email with a Password Change Link');
  await expect(page.getByRole('status')).toContainText('A welcome email with a password change link is queued');

  // The same username again, in other case, is refused beside the field and adds no one.
  await open(page, `${env.server.url}/users/new`);
  await page.getByLabel('Username', { exact: true }).fill('Grace.Hopper');
  await page.getByLabel('Display name').fill('Someone Else');
  await page.getByLabel('Nothing yet').check();
  await page.getByRole('button', { name: 'Add user' }).click();
  await expect(page.getByText('Another user already has that username.')).toBeVisible();

  const mail = await env.mail.waitFor(GRACE.email, { after: before });
  expect(mail.subject).toContain('Welcome');
  const user = await asUser(browser);
  await open(user.page, resetLinkIn(mail));
  await user.page.getByLabel('New Password').fill(GRACE_PASSWORD);
  await user.page.getByLabel('Confirm Password').fill(GRACE_PASSWORD);
  await user.page.getByRole('button', { name: 'Set new password' }).click();
  await expect(user.page).toHaveURL(/\/login\?reset=done$/);
  await signIn(user.page, env.server.url, GRACE.username, GRACE_PASSWORD);
  await expect(user.page).toHaveURL(/\/account$/);
  await user.context.close();
});

test('Grant Password Manager: they see a console with only what they may do', async ({ page, browser }) => {
  const helpdesk = { username: 'helpdesk.one', name: 'Helpdesk One', email: 'helpdesk@example.com' };
  await addUser(page, helpdesk, 'Generate Temporary Password (shown once)');
  const temporary = await page.getByRole('textbox', { name: 'Temporary password' }).inputValue();

  const panel = await openUser(page, helpdesk.username, helpdesk.name);
  await panel.getByRole('combobox', { name: 'Role' }).selectOption({ label: 'Password Manager' });
  await panel.getByRole('button', { name: 'Change role' }).click();
  const dialog = page.getByRole('dialog', { name: 'Change role?' });
  await expect(dialog).toContainText('becomes Password Manager');
  await dialog.getByRole('button', { name: 'Change role' }).click();
  await expect(panel.getByRole('status')).toContainText('Role changed');

  const them = await asUser(browser);
  await signIn(them.page, env.server.url, helpdesk.username, temporary);
  await expect(them.page).toHaveURL(/\/account\/password$/);
  const own = 'a quiet evening with tea and biscuits';
  await them.page.getByLabel('New Password').fill(own);
  await them.page.getByLabel('Confirm Password').fill(own);
  await them.page.getByRole('button', { name: 'Set new password' }).click();
  await expect(them.page).toHaveURL(/\/users$/);
  await them.page.reload();
  await expect(them.page.locator('body[data-hydrated="true"]')).toBeAttached();
  // No Bulk Change, no Add user, no row check boxes.
  await expect(them.page.getByRole('heading', { name: 'Users' })).toBeVisible();
  await expect(them.page.getByRole('button', { name: 'Bulk Change' })).toHaveCount(0);
  await expect(them.page.getByRole('link', { name: 'Add user' })).toHaveCount(0);
  await expect(them.page.getByRole('checkbox', { name: /^Select / })).toHaveCount(0);

  // A plain local user: the four password operations, and no account controls.
  const plain = await openUser(them.page, GRACE.username, GRACE.name);
  for (const name of ['Change Password', 'Send Password Change Link', 'Generate Temporary Password']) {
    await expect(plain.getByRole('button', { name })).toBeVisible();
  }
  await expect(plain.getByLabel('Force Password Reset on Next Login')).toBeVisible();
  for (const name of ['Edit', 'Delete user', 'Change role']) {
    await expect(plain.getByRole('button', { name })).toHaveCount(0);
  }
  // An administrator: the panel says why not, without buttons.
  const boss = await openUser(them.page, ADMIN.username, ADMIN.displayName);
  await expect(boss).toContainText("Only an administrator can manage this user's password.");
  await expect(boss.getByRole('button', { name: 'Change Password' })).toHaveCount(0);
  await them.context.close();
});

test('A Password Manager resets the failed sign-ins of a user locked by wrong passwords', async ({ page, browser }) => {
  const victim = { username: 'locked.out', name: 'Locked Out', email: 'locked@example.com' };
  await addUser(page, victim, 'Generate Temporary Password (shown once)');
  const intruder = await asUser(browser);
  for (let i = 0; i < 5; i++) {
    await signIn(intruder.page, env.server.url, victim.username, `wrong guess number ${i}`);
    await expect(intruder.page.getByRole('alert')).toContainText('Invalid username or password.');
  }
  await intruder.context.close();

  const them = await asUser(browser);
  await signIn(them.page, env.server.url, 'helpdesk.one', 'a quiet evening with tea and biscuits');
  const panel = await openUser(them.page, victim.username, victim.name);
  const failures = panel.getByRole('group', { name: 'Failed sign-ins' });
  await expect(failures).toContainText('5 failed sign-in(s) in a row; locked until');
  await failures.getByRole('button', { name: 'Reset', exact: true }).click();
  await expect(panel.getByRole('status')).toContainText('Failed sign-ins reset to 0');
  await expect(failures).toBeHidden();
  await them.context.close();
});

test('Edit and Delete: deactivating signs the person out, and Delete names who goes', async ({ page, browser }) => {
  const leaver = { username: 'leaver', name: 'Leaving Soon', email: 'leaver@example.com' };
  await addUser(page, leaver, 'Generate Temporary Password (shown once)');
  const temporary = await page.getByRole('textbox', { name: 'Temporary password' }).inputValue();
  const them = await asUser(browser);
  await signIn(them.page, env.server.url, leaver.username, temporary);
  await expect(them.page).toHaveURL(/\/account\/password$/);

  const panel = await openUser(page, leaver.username, leaver.name);
  await panel.getByRole('button', { name: 'Edit' }).click();
  const form = panel.getByRole('group', { name: 'Edit user' });
  await form.getByLabel('Display name').fill('Left the Company');
  await form.getByLabel('Is Active').uncheck();
  await form.getByRole('button', { name: 'Save' }).click();
  const dialog = page.getByRole('dialog', { name: 'Save changes?' });
  await expect(dialog).toContainText('signed out everywhere');
  await dialog.getByRole('button', { name: 'Save' }).click();
  await expect(panel.getByRole('heading', { name: 'Left the Company' })).toBeVisible();
  await expect(panel).toContainText('This account is disabled.');

  await them.page.reload();
  await expect(them.page).toHaveURL(/\/login$/);

  await panel.getByRole('button', { name: 'Delete user' }).click();
  const confirm = page.getByRole('dialog', { name: `Delete ${leaver.username}?` });
  await expect(confirm).toContainText('Left the Company (leaver)');
  await confirm.getByRole('button', { name: 'Delete user' }).click();
  await expect(page).toHaveURL(/\/users\?q=leaver$/);
  await expect(page.getByText('No users match this search.')).toBeVisible();
  await them.context.close();
});
