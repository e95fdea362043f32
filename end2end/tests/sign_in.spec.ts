import { Page } from '@playwright/test';
import { test, expect } from './helpers';

async function openSignIn(page: Page) {
  await page.goto('/login');
  // Wait for hydration so the form submits through the app, not as a plain POST.
  await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1);
}

test('sign_in_demo_user', async ({ page }) => {
  await openSignIn(page);
  await page.getByLabel('Email').fill('alice@example.com');
  await page.getByLabel('Password').fill('demo-password');
  await page.getByRole('button', { name: 'Sign in' }).click();

  await expect(page).toHaveURL(/\/inbox$/);
  await expect(page.getByTestId('user-name')).toHaveText('Alice Martin');
  await expect(page.getByTestId('workspace-name')).toHaveText('Acme Support');
  await expect(page.getByRole('navigation', { name: 'Channels' })).toBeVisible();
  await expect(page.getByRole('region', { name: 'Conversations' })).toBeVisible();
  await expect(page.getByText('Select a conversation to start.')).toBeVisible();

  // A reload keeps the session (the HttpOnly cookie), and sign-out ends it.
  await page.reload();
  await expect(page.getByTestId('user-name')).toHaveText('Alice Martin');
  await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/login$/);
  await page.goto('/inbox');
  await expect(page).toHaveURL(/\/login$/);
});

test('sign_in_wrong_password', async ({ page }) => {
  await openSignIn(page);
  await page.getByLabel('Email').fill('alice@example.com');
  await page.getByLabel('Password').fill('not-the-password');
  await page.getByRole('button', { name: 'Sign in' }).click();

  await expect(page.getByRole('alert')).toHaveText('Invalid email or password.');
  await expect(page).toHaveURL(/\/login$/);
  await expect(page.getByTestId('user-name')).toHaveCount(0);
  const cookies = await page.context().cookies();
  expect(cookies.find((c) => c.name === 'sb_session')).toBeUndefined();
});

test('redirect_signed_out_visitor', async ({ page }) => {
  await page.goto('/inbox');
  await expect(page).toHaveURL(/\/login$/);
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
});
