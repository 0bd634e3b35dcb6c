import { expect, Page, test } from '@playwright/test';
import { resetLinkIn } from '../fixtures/smtp';
import { ADMIN, asUser, open, openSomeUser, ready, setNewPasswordRefusingOld, signIn } from '../fixtures/pages';
import { serveWithMail } from '../fixtures/with_mail';

const env = serveWithMail(80);

const CHOSEN = 'my very own passphrase, at last';

function panelOf(page: Page) {
  return page.getByRole('complementary');
}

/** Confirms the dialog titled `title`, checking it says `says` first. */
async function confirm(page: Page, title: string, says: string) {
  const dialog = page.getByRole('dialog', { name: title });
  await expect(dialog).toContainText(says);
  await dialog.getByRole('button', { name: 'Yes, Reset Password' }).click();
}

/** The user on the other end: sets a new password on the page a link leads to. */
async function setPasswordThroughLink(page: Page, link: string, password: string) {
  await open(page, link);
  // The token moved into a cookie: the address bar shows the clean page.
  await expect(page).toHaveURL(`${env.server.url}/reset`);
  await expect(page.getByRole('heading', { name: 'Set a new password' })).toBeVisible();
  await page.getByLabel('New Password').fill(password);
  await page.getByLabel('Confirm Password').fill(password);
  await page.getByRole('button', { name: 'Set new password' }).click();
  await expect(page).toHaveURL(/\/login\?reset=done$/);
  await expect(page.getByRole('status')).toContainText('Your password was changed');
}

test('Send Password Change Link: the emailed link sets a new password once', async ({ page, browser }) => {
  const { username, email } = await openSomeUser(page, env.server.url, 2, { withEmail: true });
  const panel = panelOf(page);
  const before = env.mail.received.length;
  await expect(panel.getByLabel('Invalidate current password now')).toBeChecked();
  await expect(panel.getByLabel('Link expires after')).toHaveValue('60');
  await panel.getByRole('button', { name: 'Send Password Change Link' }).click();
  await confirm(page, 'Send a password change link?', 'The current password stops working now.');
  await expect(panel.getByText('Password change link queued for email')).toBeVisible();

  // The reset status card follows the email out.
  const card = panel.getByRole('region', { name: 'Reset status' });
  await expect(card).toContainText('Outstanding');
  await expect(card).toContainText(ADMIN.username);
  const message = await env.mail.waitFor(email, { after: before });
  expect(message.subject).toBe('Set a new password');
  await open(page, page.url());
  await expect(panelOf(page).getByRole('region', { name: 'Reset status' })).toContainText(`Sent to ${email}`);
  await expect(panelOf(page).getByRole('button', { name: 'Resend Email' })).toBeDisabled();

  const link = resetLinkIn(message);
  expect(link.startsWith(`${env.server.url}/reset/`)).toBe(true);
  const user = await asUser(browser);
  await setPasswordThroughLink(user.page, link, CHOSEN);
  await signIn(user.page, env.server.url, username, CHOSEN);
  await expect(user.page).toHaveURL(/\/account$/);

  // Used once: the same link now shows the one generic page.
  const again = await asUser(browser);
  await open(again.page, link);
  await expect(again.page.getByRole('heading', { name: 'This link is not valid' })).toBeVisible();
  await expect(again.page.getByRole('link', { name: 'request a new link' })).toBeVisible();
  await again.context.close();
  await user.context.close();

  await open(page, page.url());
  await expect(panelOf(page).getByRole('region', { name: 'Reset status' })).toContainText('Used at');
});

test('Copy link shows the link once with a QR code, for delivery by hand', async ({ page, browser }) => {
  const { username } = await openSomeUser(page, env.server.url, 10);
  const panel = panelOf(page);
  await panel.getByLabel('Invalidate current password now').uncheck();
  await panel.getByRole('button', { name: 'Copy link' }).click();
  await confirm(page, 'Send a password change link?', 'keeps working until the link is used');
  const shown = panel.getByRole('region', { name: 'Password change link' });
  await expect(shown.locator('figure.qr svg')).toBeVisible();
  const link = await shown.getByLabel('Password change link').inputValue();
  await shown.getByRole('button', { name: 'Close' }).click();
  await expect(shown).toBeHidden();

  const user = await asUser(browser);
  await setPasswordThroughLink(user.page, link, CHOSEN);
  await signIn(user.page, env.server.url, username, CHOSEN);
  await expect(user.page).toHaveURL(/\/account$/);
  await user.context.close();
});

test('Generate Temporary Password: shown once, one sign-in, then the user chooses their own', async ({ page, browser }) => {
  const { username } = await openSomeUser(page, env.server.url, 20);
  const panel = panelOf(page);
  await panel.getByRole('button', { name: 'Generate Temporary Password' }).click();
  await confirm(page, 'Generate a temporary password?', 'The current password stops working now');
  const shown = panel.getByRole('region', { name: 'Temporary password' });
  await expect(shown).toContainText('Temporary');
  const temporary = await shown.getByLabel('Temporary password').inputValue();
  expect(temporary).toMatch(/^[A-Za-z0-9]{5}(-[A-Za-z0-9]{5}){3}$/);
  await shown.getByRole('button', { name: 'Close' }).click();
  await expect(shown).toBeHidden();

  const user = await asUser(browser);
  await signIn(user.page, env.server.url, username, temporary);
  await expect(user.page).toHaveURL(/\/account\/password$/);
  await setNewPasswordRefusingOld(user.page, temporary, CHOSEN);
  await user.context.close();

  // The temporary password worked once only.
  const later = await asUser(browser);
  await signIn(later.page, env.server.url, username, temporary);
  await expect(later.page.getByRole('alert')).toContainText('Invalid username or password.');
  await later.context.close();
});

test('Generate New Password emails the password, never showing it to the admin', async ({ page, browser }) => {
  const { username, email } = await openSomeUser(page, env.server.url, 30, { withEmail: true });
  const panel = panelOf(page);
  const before = env.mail.received.length;
  await panel.getByRole('button', { name: 'Generate New Password' }).click();
  await confirm(page, 'Generate and email a new password?', 'you will not see it');
  await expect(panel.getByText('queued for email')).toBeVisible();
  await expect(panel.getByRole('region', { name: 'Temporary password' })).toHaveCount(0);

  const message = await env.mail.waitFor(email, { after: before });
  const password = message.text.match(/Temporary password: (\S+)/)?.[1] ?? '';
  expect(password).not.toBe('');
  const user = await asUser(browser);
  await signIn(user.page, env.server.url, username, password);
  await expect(user.page).toHaveURL(/\/account\/password$/);
  await user.context.close();
});

test('Forgot your password? mails a link to the stored address, and it works', async ({ page, browser }) => {
  const { username, email } = await openSomeUser(page, env.server.url, 40, { withEmail: true });
  const user = await asUser(browser);
  await open(user.page, `${env.server.url}/login`);
  await user.page.getByRole('link', { name: 'Forgot your password?' }).click();
  await expect(user.page.getByRole('heading', { name: 'Forgot your password?' })).toBeVisible();
  await ready(user.page);
  const before = env.mail.received.length;
  await user.page.getByLabel('Username or email').fill(username);
  await user.page.getByRole('button', { name: 'Send Password Change Link' }).click();
  await expect(user.page.getByRole('status')).toContainText('If an account with a stored email address matches');

  // An unknown name gets the very same answer.
  const stranger = await asUser(browser);
  await open(stranger.page, `${env.server.url}/forgot`);
  await stranger.page.getByLabel('Username or email').fill('nobody-at-all');
  await stranger.page.getByRole('button', { name: 'Send Password Change Link' }).click();
  await expect(stranger.page.getByRole('status')).toContainText('If an account with a stored email address matches');
  await stranger.context.close();

  const message = await env.mail.waitFor(email, { after: before });
  expect(message.subject).toBe('Reset your password');
  await setPasswordThroughLink(user.page, resetLinkIn(message), CHOSEN);
  await signIn(user.page, env.server.url, username, CHOSEN);
  await expect(user.page).toHaveURL(/\/account$/);
  await user.context.close();
});

test('Change Password with Email Password to User: emailed, and the user must change it', async ({ page, browser }) => {
  const { username, email } = await openSomeUser(page, env.server.url, 44, { withEmail: true });
  const panel = panelOf(page);
  const before = env.mail.received.length;
  await panel.getByRole('button', { name: 'Change Password' }).click();
  const form = panel.getByRole('group', { name: 'Change Password' });
  await form.getByLabel('New Password').fill('a password the admin chose 7');
  await form.getByLabel('Confirm Password').fill('a password the admin chose 7');
  await form.getByLabel('Email Password to User').check();
  // Emailing forces a reset at next login.
  await expect(form.getByLabel('Must Reset Password at Next Login')).toBeChecked();
  await expect(form.getByLabel('Must Reset Password at Next Login')).toBeDisabled();
  await form.getByRole('button', { name: 'Save' }).click();
  await confirm(page, "Change this user's password?", 'must change it at the next sign-in');
  await expect(panel.getByRole('status')).toContainText('Password changed');

  const message = await env.mail.waitFor(email, { after: before });
  expect(message.text).toContain('Password: a password the admin chose 7');
  const user = await asUser(browser);
  await signIn(user.page, env.server.url, username, 'a password the admin chose 7');
  await expect(user.page).toHaveURL(/\/account\/password$/);
  await user.context.close();
});

test('Revoke on the reset status card kills the link at once', async ({ page, browser }) => {
  await openSomeUser(page, env.server.url, 12, { withEmail: true });
  const panel = panelOf(page);
  await panel.getByLabel('Invalidate current password now').uncheck();
  await panel.getByRole('button', { name: 'Copy link' }).click();
  await confirm(page, 'Send a password change link?', 'keeps working until the link is used');
  const shown = panel.getByRole('region', { name: 'Password change link' });
  const link = await shown.getByLabel('Password change link').inputValue();
  await shown.getByRole('button', { name: 'Close' }).click();

  const card = panel.getByRole('region', { name: 'Reset status' });
  await expect(card).toContainText('Outstanding');
  await card.getByRole('button', { name: 'Revoke' }).click();
  await expect(panel.getByRole('status')).toContainText('Revoked');
  await expect(panelOf(page).getByRole('region', { name: 'Reset status' })).toContainText(
    `revoked by ${ADMIN.username}`,
  );

  const user = await asUser(browser);
  await open(user.page, link);
  await expect(user.page.getByRole('heading', { name: 'This link is not valid' })).toBeVisible();
  await user.context.close();
});

test('A refused email shows the SMTP answer, and Resend Email sends a new link at once', async ({ page, browser }) => {
  const { username, email } = await openSomeUser(page, env.server.url, 60, { withEmail: true });
  env.mail.rejecting.add(email.toLowerCase());
  try {
    const panel = panelOf(page);
    await panel.getByRole('button', { name: 'Send Password Change Link' }).click();
    await confirm(page, 'Send a password change link?', 'The current password stops working now.');
    await expect(panel.getByText('Password change link queued for email')).toBeVisible();

    // The mailer works in the background: the card shows its outcome on the next look.
    await expect
      .poll(
        async () => {
          await open(page, page.url());
          return panelOf(page).getByRole('region', { name: 'Reset status' }).textContent();
        },
        { timeout: 20_000 },
      )
      .toContain(`Failed to ${email}`);
    const card = panelOf(page).getByRole('region', { name: 'Reset status' });
    await expect(card).toContainText('Mailbox unavailable');
  } finally {
    env.mail.rejecting.delete(email.toLowerCase());
  }

  // A failed send needs no cooldown.
  const before = env.mail.received.length;
  const resend = panelOf(page).getByRole('button', { name: 'Resend Email' });
  await expect(resend).toBeEnabled();
  await resend.click();
  await expect(panelOf(page).getByRole('status')).toContainText('A new link was queued for email');
  const link = resetLinkIn(await env.mail.waitFor(email, { after: before }));

  const user = await asUser(browser);
  await setPasswordThroughLink(user.page, link, CHOSEN);
  await signIn(user.page, env.server.url, username, CHOSEN);
  await expect(user.page).toHaveURL(/\/account$/);
  await user.context.close();
});

test('Without an email address, the emailing operations are disabled and say why', async ({ page }) => {
  await openSomeUser(page, env.server.url, 0, { withoutEmail: true });
  const panel = panelOf(page);
  const send = panel.getByRole('button', { name: 'Send Password Change Link' });
  await expect(send).toBeDisabled();
  await expect(send).toHaveAccessibleDescription('This user has no email address.');
  await expect(panel.getByRole('button', { name: 'Generate New Password' })).toBeDisabled();
  await expect(panel.getByLabel('Send Email with Access Info to User')).toBeDisabled();
  // What needs no mailbox stays available: the link by hand, and a temporary password.
  await expect(panel.getByRole('button', { name: 'Copy link' })).toBeEnabled();
  await expect(panel.getByRole('button', { name: 'Generate Temporary Password' })).toBeEnabled();
});
