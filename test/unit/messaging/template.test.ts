import { describe, expect, it } from 'vitest';
import {
  findUnknownFields,
  MERGE_FIELDS,
  renderTemplate,
  type MergeContext,
} from '../../../server/messaging/index.js';

const full: MergeContext = {
  person: { first_name: 'Ann', last_name: 'Lee', name: 'Ann Lee' },
  deal: { title: 'Roof repair' },
  user: { name: 'Bob Stone' },
  company: { name: 'Acme Roofing' },
};

describe('renderTemplate', () => {
  it.each<[string, MergeContext, string]>([
    ['Hi {{person.first_name}}', full, 'Hi Ann'],
    ['{{person.last_name}}', full, 'Lee'],
    ['{{person.name}}', full, 'Ann Lee'],
    ['{{deal.title}}', full, 'Roof repair'],
    ['{{user.name}}', full, 'Bob Stone'],
    ['{{company.name}}', full, 'Acme Roofing'],
    ['Hi {{ person.first_name }}!', full, 'Hi Ann!'],
    ['Hi {{person.first_name|there}}', full, 'Hi Ann'],
    ['Hi {{person.first_name|there}}', {}, 'Hi there'],
    ['Hi {{ person.first_name | there }}', {}, 'Hi there'],
    ['Hi {{person.first_name | dear customer }}', { person: null }, 'Hi dear customer'],
    ['Hi {{person.first_name|there}}', { person: { first_name: '' } }, 'Hi there'],
    ['Hi {{person.first_name|there}}', { person: { first_name: '   ' } }, 'Hi there'],
    ['Hi {{person.first_name|there}}', { person: { first_name: null } }, 'Hi there'],
    ['Hi {{person.first_name}},', {}, 'Hi ,'],
    ['Hi {{person.first_name}}', { person: { first_name: '  Ann  ' } }, 'Hi Ann'],
    ['{{deal.title|your deal}}', { deal: { title: null } }, 'your deal'],
    ['{{user.name|your rep}} at {{company.name|us}}', { user: null, company: null }, 'your rep at us'],
    ['{{person.first_name|a|b}}', {}, 'a|b'],
    ['{{person.first_name|}}', {}, ''],
    ['{{\nperson.first_name\n}}', full, 'Ann'],
    ['{{person.first_name}}{{person.last_name}}', full, 'AnnLee'],
    ['No fields at all', full, 'No fields at all'],
    ['{single} and {{ unclosed', full, '{single} and {{ unclosed'],
    ['{{{person.first_name}}}', full, '{Ann}'],
    // Unknown fields stay as written so a preview shows them; compose refuses to send them.
    ['Hi {{person.nickname|there}}', full, 'Hi {{person.nickname|there}}'],
    ['Hi {{ Person.First_Name }}', full, 'Hi {{ Person.First_Name }}'],
    // One pass: merged values are never expanded again.
    ['{{deal.title}}', { deal: { title: '{{person.first_name}}' } }, '{{person.first_name}}'],
    ['{{deal.title}}', { deal: { title: '$& $1 $$' } }, '$& $1 $$'],
  ])('%j', (template, ctx, expected) => {
    expect(renderTemplate(template, ctx)).toBe(expected);
  });

  it('does not mutate the context', () => {
    const ctx = Object.freeze({ person: Object.freeze({ first_name: ' Ann ' }) });
    expect(renderTemplate('{{person.first_name}}', ctx)).toBe('Ann');
    expect(ctx.person.first_name).toBe(' Ann ');
  });
});

describe('findUnknownFields', () => {
  it.each<[string, string[]]>([
    ['Hi {{person.first_name}}', []],
    [MERGE_FIELDS.map((field) => `{{${field}}}`).join(' '), []],
    ['Hi {{person.nickname}}', ['person.nickname']],
    ['Hi {{ person.nickname | there }}', ['person.nickname']],
    ['{{deal.value}} {{deal.value}} {{org.name}}', ['deal.value', 'org.name']],
    ['{{Person.First_Name}}', ['Person.First_Name']],
    ['{{first_name}}', ['first_name']],
    ['{{}}', ['']],
    ['{{ | fallback }}', ['']],
    ['{{person first_name}}', ['person first_name']],
    ['no tags, {single}, {{ unclosed', []],
  ])('%j -> %j', (template, expected) => {
    expect(findUnknownFields(template)).toEqual(expected);
  });

  it('lists exactly the merge fields templates may use', () => {
    expect([...MERGE_FIELDS]).toEqual([
      'person.first_name',
      'person.last_name',
      'person.name',
      'deal.title',
      'user.name',
      'company.name',
    ]);
  });
});
