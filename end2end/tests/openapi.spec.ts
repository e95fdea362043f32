import { createConfig, lintFromString } from '@redocly/openapi-core';
import { test, expect } from './helpers';

// The document the running binary serves passes Redocly's `recommended` rules with no error
// (unique operation ids, security on every operation, valid schemas and references). Warnings are
// printed, not failed: they are style (for instance an operation without a documented 4XX).
test('validate_openapi', async ({ request }) => {
  const response = await request.get('/api/v1/openapi.json');
  expect(response.ok()).toBe(true);
  const source = await response.text();
  const config = await createConfig({ extends: ['recommended'] });
  const problems = await lintFromString({ source, absoluteRef: 'openapi.json', config });
  const describe = (p: (typeof problems)[number]) =>
    `${p.ruleId}: ${p.message} at ${p.location.map((l) => l.pointer).join(', ')}`;
  const warnings = problems.filter((p) => p.severity !== 'error');
  if (warnings.length > 0) {
    console.log(`${warnings.length} OpenAPI warnings:\n${warnings.map(describe).join('\n')}`);
  }
  expect(problems.filter((p) => p.severity === 'error').map(describe)).toEqual([]);
});
