import { expect, test } from '@playwright/test';
import { resetLinkIn } from '../fixtures/smtp';
import { openSomeUser } from '../fixtures/pages';
import { serveWithMail } from '../fixtures/with_mail';

const env = serveWithMail(40);

// People open reset links in phone mail apps: the end user's pages are plain forms that work
// with JavaScript off, with errors rendered by the env.server.

const CHOSEN = 'chosen on a phone without scripts';

test('forgot password, reset link and sign-in all work with JavaScript disabled', async ({ page, browser }) => {
  const { username, email } = await openSomeUser(page, env.server.url, 1, { withEmail: true });
  const context = await browser.newContext({ javaScriptEnabled: false });
  const phone = await context.newPage();

  await phone.goto(`${env.server.url}/login`);
  await phone.getByRole('link', { name: 'Forgot your password?' }).click();
  const before = env.mail.received.length;
  await phone.getByLabel('Username or email').fill(username);
  await phone.getByRole('button', { name: 'Send Password Change Link' }).click();
  await expect(phone).toHaveURL(/\/forgot\?sent=1$/);
  await expect(phone.getByRole('status')).toContainText('If an account with a stored email address matches');

  const link = resetLinkIn(await env.mail.waitFor(email, { after: before }));
  await phone.goto(link);
  await expect(phone).toHaveURL(`${env.server.url}/reset`);
  await expect(phone.getByRole('heading', { name: 'Set a new password' })).toBeVisible();

  // A mistake comes back from the server, on the same page, and spends nothing.
  await phone.getByLabel('New Password').fill(CHOSEN);
  await phone.getByLabel('Confirm Password').fill('something else entirely');
  await phone.getByRole('button', { name: 'Set new password' }).click();
  await expect(phone.getByRole('alert').filter({ hasText: 'do not match' })).toBeVisible();
  await expect(phone.getByRole('heading', { name: 'Set a new password' })).toBeVisible();

  await phone.getByLabel('New Password').fill(CHOSEN);
  await phone.getByLabel('Confirm Password').fill(CHOSEN);
  await phone.getByRole('button', { name: 'Set new password' }).click();
  await expect(phone).toHaveURL(/\/login\?reset=done$/);
  await expect(phone.getByRole('status')).toContainText('Your password was changed');

  await phone.getByLabel('Username or email').fill(username);
  await phone.getByLabel('Password', { exact: true }).fill('not it, but long enough');
  await phone.getByRole('button', { name: 'Sign in' }).click();
  await expect(phone.getByRole('alert').filter({ hasText: 'Invalid username or password.' })).toBeVisible();
  // The page the server sends back keeps the name, never the password, and starts at the password.
  await expect(phone.getByLabel('Username or email')).toHaveValue(username);
  await expect(phone.getByLabel('Password', { exact: true })).toHaveValue('');
  await expect(phone.getByLabel('Password', { exact: true })).toHaveAttribute('autofocus', '');
  await phone.getByLabel('Password', { exact: true }).fill(CHOSEN);
  await phone.getByRole('button', { name: 'Sign in' }).click();
  await expect(phone).toHaveURL(/\/account$/);
  await context.close();
});
