import { expect, Page, test } from '@playwright/test';
import { startServer, RunningServer } from '../fixtures/server';
import { ADMIN, createFirstAdmin, openSomeUser, signIn } from '../fixtures/pages';

let server: RunningServer;

/** Every address the page has fetched so far. */
const fetchedUrls = (page: Page) =>
  page.evaluate(() =>
    (performance.getEntriesByType('resource') as PerformanceResourceTiming[]).map((r) => r.name),
  );

test.beforeAll(async ({ browser }) => {
  server = await startServer({ seedUsers: 20 });
  const page = await browser.newPage();
  await createFirstAdmin(page, server.setupLink);
  await page.close();
});

test.afterAll(async () => {
  await server?.stop();
});

test('The console\'s files arrive compressed under content-hashed names cached for a year', async ({ page }) => {
  await signIn(page, server.url, ADMIN.username, ADMIN.password);
  await expect(page).toHaveURL(/\/users$/);
  const files = await page.evaluate(() =>
    (performance.getEntriesByType('resource') as PerformanceResourceTiming[])
      .filter((r) => r.name.includes('/pkg/'))
      .map((r) => ({ url: r.name, encoded: r.encodedBodySize, decoded: r.decodedBodySize })),
  );
  const wasm = files.find((f) => f.url.includes('/pkg/latchkey.') && f.url.endsWith('.wasm'));
  const css = files.find((f) => f.url.endsWith('.css'));
  expect(wasm, JSON.stringify(files)).toBeTruthy();
  expect(css, JSON.stringify(files)).toBeTruthy();
  // Named by content hash: latchkey.<hash>.wasm, so a new build is a new address.
  for (const file of [wasm!, css!]) {
    expect(file.url).toMatch(/\/pkg\/latchkey\.[A-Za-z0-9_-]{8,}\.(wasm|css)$/);
    expect(file.encoded).toBeLessThan(file.decoded);
    const response = await page.request.get(file.url, { headers: { 'Accept-Encoding': 'br' } });
    expect(response.headers()['content-encoding']).toBe('br');
    expect(response.headers()['cache-control']).toBe('public, max-age=31536000, immutable');
  }
  const total = files.reduce((sum, f) => sum + f.encoded, 0);
  console.log(`console first load: ${files.length} files, ${total} bytes over the wire`);

  // Pages are compressed on the fly and never cached; server functions' answers are not
  // compressed (a secret shown once must not sit beside attacker-chosen text in a compressed body).
  const html = await page.request.get(`${server.url}/users`, { headers: { 'Accept-Encoding': 'br' } });
  expect(html.headers()['content-encoding']).toBe('br');
  expect(html.headers()['cache-control']).toBe('no-store');
  const api = await page.request.post(`${server.url}/api/policy/current`, {
    headers: { 'Accept-Encoding': 'br, gzip', Origin: server.url, 'Content-Type': 'application/x-www-form-urlencoded' },
    data: '',
  });
  expect(api.ok()).toBe(true);
  expect(api.headers()['content-encoding']).toBeUndefined();
});


test('Rarely used pages arrive as chunks of their own when first opened', async ({ page }) => {
  await signIn(page, server.url, ADMIN.username, ADMIN.password);
  await expect(page).toHaveURL(/\/users$/);
  const fetched = () => fetchedUrls(page);
  // The Users page does not carry the Management pages' code, nor the user panel's, nor the
  // Bulk Change dialog's.
  const lazyParts = /_route_view_|split_user_panel_|split_bulk_dialog_/;
  expect((await fetched()).filter((url) => lazyParts.test(url))).toEqual([]);

  // Opened from the console, Audit fetches its chunk and works.
  await page.getByRole('link', { name: 'Audit' }).click();
  await expect(page).toHaveURL(/\/management\/audit/);
  await expect(page.getByRole('heading', { name: 'Audit' })).toBeVisible();
  expect((await fetched()).some((url) => /split___audit_route_view_.*\.wasm$/.test(url))).toBe(true);

  // Opened directly, a lazy page is rendered by the server and hydrated with its chunk: the
  // example check follows the numbers as they are typed, which only the WASM does.
  await page.goto(`${server.url}/management/policy`);
  await page.waitForSelector('body[data-hydrated="true"]');
  await page.getByLabel('Minimum length').fill('12');
  await page.getByLabel('Example password').fill('a quiet harbour at dawn');
  await expect(page.locator('#try-rules li', { hasText: 'At least 12 characters' })).toHaveClass('met');
});

test('The user panel and the Bulk Change dialog arrive when first used, and work', async ({ page }) => {
  const fetched = async (part: RegExp) => (await fetchedUrls(page)).some((url) => part.test(url));
  const panelCode = /split_user_panel_.*\.wasm$/;
  const dialogCode = /split_bulk_dialog_.*\.wasm$/;

  // A name clicked: the panel's code is fetched then, and the panel works (its tabs respond).
  // With an email address: Generate New Password, below, emails the password it makes.
  const { username } = await openSomeUser(page, server.url, 0, { withEmail: true });
  expect(await fetched(panelCode)).toBe(true);
  await page.getByRole('tab', { name: 'Activity' }).click();
  await expect(page.getByRole('tabpanel', { name: 'Activity' })).toBeVisible();

  // Opened directly, the server renders the panel and the page hydrates with it: its dialogs open.
  await page.goto(page.url());
  await page.waitForSelector('body[data-hydrated="true"]');
  await page.getByRole('button', { name: 'Generate New Password' }).click();
  await expect(page.getByRole('dialog')).toBeVisible();
  await page.getByRole('button', { name: 'Cancel' }).click();
  await expect(page.getByRole('dialog')).toBeHidden();

  // Bulk Change: the dialog's code comes with the menu, and the first choice opens the preview.
  await page.goto(`${server.url}/users?q=${encodeURIComponent(username)}`);
  await page.waitForSelector('body[data-hydrated="true"]');
  expect(await fetched(dialogCode)).toBe(false);
  await page.getByRole('checkbox', { name: `Select ${username}` }).check();
  await page.getByRole('button', { name: 'Bulk Change' }).click();
  await page.getByRole('menuitem', { name: 'Reset Password' }).click();
  await expect(page.getByRole('dialog', { name: 'Bulk Change: Reset Password' })).toBeVisible();
  await expect(page.locator('.preview-count')).toHaveText('1 user will be affected (of 1 selected).');
  expect(await fetched(dialogCode)).toBe(true);
  await page.getByRole('button', { name: 'Cancel' }).click();
  await expect(page.getByRole('dialog')).toBeHidden();
});

test('While the panel\'s code is on its way the first time, its place says Loading…', async ({ page }) => {
  await signIn(page, server.url, ADMIN.username, ADMIN.password);
  await expect(page).toHaveURL(/\/users$/);
  // A slow network: the panel's own chunk arrives a second late.
  await page.route('**/split_user_panel_*', async (route) => {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await route.continue();
  });
  const placeholder = () =>
    page.evaluate(() => {
      const layout = document.querySelector('.users-layout');
      return layout ? getComputedStyle(layout, '::after').content : null;
    });
  await page.locator('table.users-table tbody tr').first().getByRole('link').click();
  await expect.poll(placeholder).toBe('"Loading…"');
  await expect(page.getByRole('tab', { name: 'Activity' })).toBeVisible();
  expect(await placeholder()).toBe('none');
});
