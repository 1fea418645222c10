// The field sidebar (issue 16): the facets of the current view from GET /fields — each attribute with its most
// frequent values and their counts — and the active field filters. Clicking a value filters by it (or, when it is
// the active value, removes the filter); the filter lives in the page address as attr.<name>=<value>.
import type { Fields } from './api.js';
import { el } from './dom.js';

export class FieldSidebar {
  constructor(
    private readonly root: HTMLElement,
    private readonly onToggle: (name: string, value: string | undefined) => void,
  ) {}

  render(fields: Fields | undefined, active: Record<string, string>, error?: string): void {
    this.root.replaceChildren();
    const head = el('h2', '', 'Fields');
    this.root.append(head);
    const names = Object.keys(active).sort();
    if (names.length > 0) {
      const list = el('ul', 'active-filters');
      list.setAttribute('aria-label', 'Active field filters (activate to remove)');
      for (const name of names) {
        const li = el('li');
        const b = el('button', 'active-filter', `${name} = ${active[name]} ×`);
        b.type = 'button';
        b.dataset.field = name;
        b.title = `remove the filter ${name} = ${active[name]}`;
        b.addEventListener('click', () => this.onToggle(name, undefined));
        li.append(b);
        list.append(li);
      }
      this.root.append(list);
    }
    if (error) {
      this.root.append(el('p', 'note', `fields unavailable: ${error}`));
      return;
    }
    if (!fields) {
      this.root.append(el('p', 'note', 'loading fields…'));
      return;
    }
    const scope = fields.rows < fields.sample ? `${fields.rows.toLocaleString('en')} rows` : `the newest ${fields.sample.toLocaleString('en')} rows`;
    this.root.append(el('p', 'note fields-scope', fields.fields.length ? `in ${scope} of the view` : `no attributes in ${scope} of the view`));
    for (const f of fields.fields) {
      const section = el('section', 'field');
      section.dataset.field = f.name;
      const title = el('h3', '', f.name);
      title.append(' ', el('span', 'n', f.count.toLocaleString('en')));
      const ul = el('ul');
      ul.setAttribute('aria-label', `values of ${f.name}`);
      for (const v of f.values) {
        const li = el('li');
        const b = el('button', 'facet');
        b.type = 'button';
        b.dataset.field = f.name;
        b.dataset.value = v.value;
        b.dataset.count = String(v.count);
        const on = active[f.name] === v.value;
        b.setAttribute('aria-pressed', String(on));
        b.title = on ? `remove the filter ${f.name} = ${v.value}` : `show only rows with ${f.name} = ${v.value}`;
        b.append(el('span', 'value', v.value), ' ', el('span', 'n', v.count.toLocaleString('en')));
        b.addEventListener('click', () => this.onToggle(f.name, on ? undefined : v.value));
        li.append(b);
        ul.append(li);
      }
      section.append(title, ul);
      this.root.append(section);
    }
  }
}
