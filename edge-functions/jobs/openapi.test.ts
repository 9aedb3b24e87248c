/**
 * The jobs function's OpenAPI document carries each job type of its catalog with that
 * type's payload schema (docs/functions.md), no more and no fewer.
 */
import { createJobCatalog, jobPayloadJsonSchemas } from '../../core/jobs/catalog.ts';
import { assert, assertEquals } from '../_shared/testing/assert.ts';
import { testDeps } from '../_shared/testing/deps.ts';
import { createJobsApp } from './app.ts';

interface Branch {
  title: string;
  description: string;
  properties: { type: { const: string }; payload: Record<string, unknown> };
}

async function submitJobSchema(diagnostics: boolean) {
  const deps = testDeps('jobs', { TANDEM_DIAGNOSTIC_JOBS: diagnostics ? 'on' : 'off' });
  const response = await createJobsApp(deps).request('/jobs/openapi.json');
  assertEquals(response.status, 200);
  const document = await response.json();
  const body = document.paths['/jobs'].post.requestBody.content['application/json'].schema;
  assertEquals(body, { $ref: '#/components/schemas/SubmitJob' });
  return document.components.schemas.SubmitJob as { oneOf: Branch[]; properties: Record<string, unknown> };
}

for (const diagnostics of [false, true]) {
  Deno.test(`SubmitJob has one branch per type of the catalog, with its payload schema (diagnostic types ${diagnostics ? 'on' : 'off'})`, async () => {
    const schema = await submitJobSchema(diagnostics);
    const catalog = createJobCatalog({ diagnostics });
    const expected = jobPayloadJsonSchemas(catalog);
    assertEquals(schema.oneOf.map((branch) => branch.properties.type.const), [...catalog.known]);
    for (const branch of schema.oneOf) {
      const type = branch.properties.type.const;
      assertEquals(branch.title, type);
      assertEquals(branch.description, catalog.types.get(type)!.description);
      assertEquals(branch.properties.payload, expected[type]!.payload);
    }
    assert(['project_id', 'type', 'payload'].every((field) => field in schema.properties));
  });
}

Deno.test('a payload schema is what a client sends: defaults optional, unknown fields refused', async () => {
  const schema = await submitJobSchema(true);
  const sleep = schema.oneOf.find((branch) => branch.properties.type.const === 'diagnostic.sleep')!;
  assertEquals(sleep.properties.payload.required, ['ms']);
  assertEquals(sleep.properties.payload.additionalProperties, false);
});
