import { expect, Page, test } from '@playwright/test';
import { startServer, RunningServer } from '../fixtures/server';
import { MailSink, startMailSink } from '../fixtures/smtp';
import { ADMIN, createFirstAdmin, open, openSomeUser, signIn } from '../fixtures/pages';

// No SMTP server in the environment: Management > Email Configuration decides, without a
// restart. The second test sends through the server the first one saved.
test.describe.configure({ mode: 'serial' });

let server: RunningServer;
let mail: MailSink;
let refusing: MailSink;

test.beforeAll(async ({ browser }) => {
  mail = await startMailSink();
  refusing = await startMailSink({ refuseLogin: true });
  server = await startServer({ seedUsers: 40 });
  const page = await browser.newPage();
  await createFirstAdmin(page, server.setupLink);
  await page.close();
});

test.afterAll(async () => {
  await server?.stop();
  await mail?.stop();
  await refusing?.stop();
});

async function pointAt(page: Page, port: number, login?: { username: string; password: string }) {
  await page.getByLabel('SMTP host').fill('127.0.0.1');
  await page.getByLabel('Port').fill(String(port));
  await page.getByLabel('Security').selectOption('none');
  await page.getByLabel('Username').fill(login?.username ?? '');
  await page.getByLabel('Password', { exact: true }).fill(login?.password ?? '');
}

test('Send test email shows the SMTP server\'s own answer, and a saved server is used without a restart', async ({ page }) => {
  await signIn(page, server.url, ADMIN.username, ADMIN.password);
  await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Email' }).click();
  await expect(page.getByRole('heading', { name: 'Email Configuration' })).toBeVisible();
  await expect(page.getByText('Nothing is waiting to be sent.')).toBeVisible();

  // A server that takes the message: its own 250 answer is shown.
  await pointAt(page, mail.port);
  await page.getByLabel('Send test email to').fill('helpdesk@example.com');
  await page.getByRole('button', { name: 'Send test email' }).click();
  const answer = page.locator('.test-email [role="status"]');
  await expect(answer).toContainText('The server accepted the test email');
  await expect(answer).toContainText('250');
  const test = await mail.waitFor('helpdesk@example.com');
  expect(test.subject).toBe('Latchkey test email');

  // A server that refuses the login: its 535 answer, word for word.
  await pointAt(page, refusing.port, { username: 'mailer', password: 'not the password' });
  await page.getByRole('button', { name: 'Send test email' }).click();
  await expect(answer).toContainText('The test email was not sent');
  await expect(answer).toContainText('535');
  await expect(answer).toContainText('5.7.8 Authentication failed');
  expect(refusing.received).toHaveLength(0);

  // Bad input: refused by the browser where it can tell, by the server always, and nothing saved.
  await pointAt(page, mail.port);
  const perMinute = page.getByLabel('Messages per minute');
  await perMinute.fill('0');
  expect(await perMinute.evaluate((e) => (e as HTMLInputElement).validity.rangeUnderflow)).toBe(true);
  const tampered = await page.evaluate(async () => {
    const body = new URLSearchParams({ per_minute: '0' });
    const response = await fetch('/api/settings/email/save', { method: 'POST', body });
    return { status: response.status, text: await response.text() };
  });
  expect(tampered.status).toBe(400);
  expect(tampered.text).toContain('Use 1 to 10000 messages a minute');
  await perMinute.fill('30');
  await page.getByLabel('SMTP host').fill('smtp example.com');
  await page.getByRole('button', { name: 'Save email settings' }).click();
  await expect(page.locator('.settings-form [role="alert"]').first()).toContainText('Enter a host name or IP address');
  // A refused save leaves the form as it was typed, the choices of its selects too.
  await expect(page.getByLabel('Security')).toHaveValue('none');
  await expect(page.getByLabel('Port')).toHaveValue(String(mail.port));
  await page.getByLabel('SMTP host').fill('127.0.0.1');
  await page.getByLabel('From name').fill('ACME IT');
  await page.getByLabel('From address').fill('it@acme.example');
  await page.getByRole('button', { name: 'Save email settings' }).click();
  await expect(page.getByText('Saved. The next email goes out this way.')).toBeVisible();
  await open(page, `${server.url}/management/email`);
  await expect(page.getByLabel('SMTP host')).toHaveValue('127.0.0.1');
  await expect(page.getByLabel('Port')).toHaveValue(String(mail.port));

  // The running server now sends through it: a reset link reaches the sink.
  const { email } = await openSomeUser(page, server.url, 1, { withEmail: true });
  const before = mail.received.length;
  const panel = page.getByRole('complementary');
  await panel.getByRole('button', { name: 'Send Password Change Link' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Yes, Reset Password' }).click();
  const message = await mail.waitFor(email, { after: before });
  expect(message.subject).toBe('Set a new password');
  expect(message.html).toContain('Set a new password</a>');
});

test('Editing the Password Change Link template changes what is sent, and Restore default brings it back', async ({ page }) => {
  await signIn(page, server.url, ADMIN.username, ADMIN.password);
  await open(page, `${server.url}/management/templates`);
  await expect(page.getByRole('heading', { name: 'Password Change Link email' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Restore default' })).toBeDisabled();

  const subject = page.getByLabel('Subject');
  const text = page.getByLabel('Plain-text body');
  await subject.fill('ACME: set your password, {{ username }}');
  // The live preview renders with sample data, escaped and all.
  await expect(page.getByTestId('preview-subject')).toHaveText('ACME: set your password, joan.torvalds');

  // An unknown variable is refused with the list of those that exist, and nothing is saved.
  await text.fill('Hello {{ usernme }}, open {{ link }}.');
  await expect(page.locator('.template-preview [role="alert"]')).toContainText('Plain-text body: {{ usernme }} is not a variable of Password Change Link');
  await page.getByRole('button', { name: 'Save template' }).click();
  await expect(page.locator('.template-form [role="alert"]')).toContainText('{{ usernme }} is not a variable');
  // A link email without its link is refused too.
  await text.fill('Hello {{ display_name }}, ask the helpdesk.');
  await page.getByRole('button', { name: 'Save template' }).click();
  await expect(page.locator('.template-form [role="alert"]')).toContainText('must include {{ link }}');

  await text.fill('Hello {{ display_name }},\n\nACME asks you to set a new password: {{ link }}\n\nIt works for {{ expires_in }}.');
  await page.getByRole('button', { name: 'Save template' }).click();
  await expect(page.getByText('Saved. Emails queued from now on use it.')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Restore default' })).toBeEnabled();

  const { email, username } = await openSomeUser(page, server.url, 3, { withEmail: true });
  let before = mail.received.length;
  const panel = page.getByRole('complementary');
  await panel.getByRole('button', { name: 'Send Password Change Link' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Yes, Reset Password' }).click();
  let message = await mail.waitFor(email, { after: before });
  expect(message.subject).toBe(`ACME: set your password, ${username}`);
  expect(message.text).toContain('ACME asks you to set a new password: http');
  expect(message.text).toContain('It works for 60 minutes.');

  // Restore default: the shipped text goes out again.
  await open(page, `${server.url}/management/templates?kind=password_change_link`);
  await page.getByRole('button', { name: 'Restore default' }).click();
  await expect(page.getByText('The shipped text is back.')).toBeVisible();
  await expect(page.getByLabel('Subject')).toHaveValue('Set a new password');

  // Another person (a second link to the first would wait for the resend cooldown).
  const other = await openSomeUser(page, server.url, 6, { withEmail: true });
  before = mail.received.length;
  await page.getByRole('complementary').getByRole('button', { name: 'Send Password Change Link' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Yes, Reset Password' }).click();
  message = await mail.waitFor(other.email, { after: before });
  expect(message.subject).toBe('Set a new password');
  expect(message.text).toContain('An administrator asked you to choose a new password');

  // Both changes are in the audit trail.
  await open(page, `${server.url}/management/audit`);
  await expect(page.getByRole('table')).toContainText('Template restored');
  await expect(page.getByRole('table')).toContainText('Template changed');
});
