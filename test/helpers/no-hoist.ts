// Finds code that relies on hoisting, which Espruino does not do (seen on 2v29): `x = 1; ... var x`
// in a function assigns the ENCLOSING scope's x, and a function declaration is unknown before its
// statement has run. Lists, per function scope, references to a var/function name of that same
// scope placed before its first declaration (parameters are fine; nested functions are skipped:
// they normally run later). Test-only code.
import { parse } from 'acorn';

type N = { type: string; start: number; [k: string]: any };
const isFn = (n: N | null) => !!n && /^(FunctionDeclaration|FunctionExpression|ArrowFunctionExpression)$/.test(n.type);

function names(p: N | null, out: string[]): string[] {
  if (!p) return out;
  if (p.type === 'Identifier') out.push(p.name);
  else if (p.type === 'AssignmentPattern') names(p.left, out);
  else if (p.type === 'RestElement') names(p.argument, out);
  else if (p.type === 'ArrayPattern') p.elements.forEach((e: N) => names(e, out));
  else if (p.type === 'ObjectPattern') p.properties.forEach((q: N) => names(q.type === 'RestElement' ? q : q.value, out));
  return out;
}

export function usesBeforeDeclaration(code: string): string[] {
  const found: string[] = [];
  const scope = (fn: N): void => {
    const params = new Set<string>();
    if (isFn(fn)) fn.params.forEach((p: N) => names(p, []).forEach((x) => params.add(x)));
    const decl = new Map<string, number>();
    const refs: [string, number][] = [];
    const nested: N[] = [];
    const body: N = isFn(fn) ? fn.body : fn;
    const walk = (n: N, parent: N | null, key: string | null): void => {
      if (n !== body && isFn(n)) {
        if (n.type === 'FunctionDeclaration' && !decl.has(n.id.name)) decl.set(n.id.name, n.start);
        nested.push(n);
        return;
      }
      if (n.type === 'VariableDeclaration' && n.kind === 'var') {
        for (const d of n.declarations) for (const x of names(d.id, [])) if (!decl.has(x)) decl.set(x, d.start);
      }
      if (n.type === 'Identifier' && parent) {
        const prop = (parent.type === 'MemberExpression' && key === 'property' && !parent.computed) ||
          (parent.type === 'Property' && key === 'key' && !parent.computed) || parent.type === 'MethodDefinition' ||
          key === 'label' || (parent.type === 'VariableDeclarator' && key === 'id');
        if (!prop) refs.push([n.name, n.start]);
      }
      for (const k of Object.keys(n)) {
        const v = n[k];
        if (Array.isArray(v)) v.forEach((c) => c && typeof c.type === 'string' && walk(c, n, k));
        else if (v && typeof v.type === 'string') walk(v, n, k);
      }
    };
    walk(body, null, null);
    for (const [x, at] of refs) {
      const d = decl.get(x);
      if (d !== undefined && at < d && !params.has(x)) found.push(`"${x}" at ${at} before its declaration at ${d}: ${code.slice(Math.max(0, at - 30), at + 30)}`);
    }
    nested.forEach(scope);
  };
  scope(parse(code, { ecmaVersion: 2020, sourceType: 'script' }) as unknown as N);
  return found;
}
