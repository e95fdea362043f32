// A typed client generated from the document the running binary serves, with the well-kept
// `openapi-typescript` generator and its `openapi-fetch` runtime: the generated types compile
// under `tsc --strict` with a client that uses the platform's routes, a call the document does
// not allow fails to compile (so the types are real), and the client makes real calls.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import createClient from 'openapi-fetch';
import openapiTS, { astToString } from 'openapi-typescript';
import { test, expect } from './helpers';

const root = path.resolve(__dirname, '../..');
const generated = path.resolve(__dirname, '../.generated');

/** Type-checks one file of the generated directory; answers tsc's output, or '' when it passes. */
function typeCheck(file: string): string {
  const tsc = path.join(root, 'node_modules/.bin/tsc');
  const args = ['--noEmit', '--strict', '--skipLibCheck', '--target', 'es2022', '--module', 'esnext',
    '--moduleResolution', 'bundler', path.join(generated, file)];
  try {
    execFileSync(tsc, args, { cwd: root, encoding: 'utf8', stdio: 'pipe' });
    return '';
  } catch (e) {
    const failure = e as { stdout?: string; stderr?: string };
    return `${failure.stdout ?? ''}${failure.stderr ?? ''}` || 'tsc failed';
  }
}

const client = `import createClient from 'openapi-fetch';
import type { paths, components } from './api';

type AppUser = components['schemas']['AppUser'];

export function connect(baseUrl: string, secret: string) {
  return createClient<paths>({ baseUrl, headers: { Authorization: \`Bearer \${secret}\` } });
}

/** Creates or updates a user of the app, then mints their token. */
export async function onboard(api: ReturnType<typeof connect>, id: string, name: string): Promise<string> {
  const put = await api.PUT('/users/{external_id}', {
    params: { path: { external_id: id } },
    body: { name, custom: { plan: 'pro' } },
  });
  if (!put.data) throw new Error(put.error?.error.code ?? 'no user');
  const user: AppUser = put.data;
  const minted = await api.POST('/users/{external_id}/token', {
    params: { path: { external_id: user.external_id } },
    body: { expires_in: 600 },
  });
  if (!minted.data) throw new Error(minted.error?.error.code ?? 'no token');
  const expires: number = minted.data.expires_at;
  return expires > 0 ? minted.data.token : '';
}
`;

const wrong = `import createClient from 'openapi-fetch';
import type { paths } from './api';

const api = createClient<paths>({ baseUrl: '/api/v1' });
// The document has no such route, and a user's name is a string.
export const a = api.GET('/users/{external_id}/friends', { params: { path: { external_id: 'x' } } });
export const b = api.PUT('/users/{external_id}', { params: { path: { external_id: 'x' } }, body: { name: 42 } });
`;

test('a_typed_client_generated_from_the_document_compiles_and_calls_the_api', async ({ request, baseURL }) => {
  const response = await request.get('/api/v1/openapi.json');
  expect(response.ok()).toBe(true);
  const document = await response.json();
  fs.mkdirSync(generated, { recursive: true });
  fs.writeFileSync(path.join(generated, 'api.d.ts'), astToString(await openapiTS(document)));
  fs.writeFileSync(path.join(generated, 'client.ts'), client);
  fs.writeFileSync(path.join(generated, 'wrong.ts'), wrong);

  expect(typeCheck('client.ts')).toBe('');
  const errors = typeCheck('wrong.ts');
  expect(errors).toContain('/users/{external_id}/friends');
  expect(errors).toContain("Type 'number' is not assignable to type 'string'");

  // The same runtime makes the calls: sign in, make a key, onboard a user with it.
  const api = createClient<any>({ baseUrl: `${baseURL}/api/v1` });
  const login = await api.POST('/auth/login', { body: { email: 'alice@example.com', password: 'demo-password' } });
  expect(login.response.status).toBe(200);
  const session = { Authorization: `Bearer ${login.data.token}` };
  const key = await api.POST('/api-keys', { headers: session, body: { name: 'Typed client', scope: 'server' } });
  expect(key.response.status).toBe(201);
  const keyed = createClient<any>({ baseUrl: `${baseURL}/api/v1`, headers: { Authorization: `Bearer ${key.data.secret}` } });
  const put = await keyed.PUT('/users/{external_id}', { params: { path: { external_id: 'typed-1' } }, body: { name: 'Tia' } });
  expect(put.response.status).toBe(201);
  expect(put.data.role).toBe('user');
  const minted = await keyed.POST('/users/{external_id}/token', { params: { path: { external_id: 'typed-1' } }, body: {} });
  expect(minted.response.status).toBe(200);
  const me = await api.GET('/me', { headers: { Authorization: `Bearer ${minted.data.token}` } });
  expect(me.response.status).toBe(200);
  expect(me.data.user.name).toBe('Tia');
});
