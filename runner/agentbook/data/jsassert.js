// agentbook's evaluator of promptfoo `javascript` assertions (runner/agentbook/evals/jsassert.py).
// It runs inside the jail; one process answers every assertion of a run. Each stdin line is a JSON
// request {id, code, filename, fn, module, modules, output, context, ms}; each answer is one stdout line
// {id, ok: true, result} or {id, ok: false, error}. The suite's code runs in a fresh vm context per
// assertion with a deadline on its synchronous part; the jail (not vm) is what confines it, and the
// runner kills this process when an answer does not come in time. A script's relative `require`s are
// answered from `modules` ({path: source}: the files agentbook read inside the repository and handed
// over); nothing is read from disk here.
'use strict';
const path = require('path');
const vm = require('vm');
const readline = require('readline');
const { builtinModules } = require('module');

const send = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');

function where(err, filename) {
  // "file:line" of the error inside the suite's code, from the stack V8 wrote for our filename
  const stack = String((err && err.stack) || '');
  const at = stack.split('\n').find((l) => l.includes(filename + ':'));
  const m = at && at.match(/:(\d+)(?::\d+)?\)?\s*$/);
  return m ? `${filename}:${m[1]}` : filename;
}

function describe(err, filename, lineShift, lineCount) {
  const name = (err && err.name) || 'Error';
  const message = (err && err.message) || String(err);
  let place = filename;
  if (err instanceof SyntaxError || (err && err.name === 'SyntaxError')) {
    const first = String(err.stack || '').split('\n')[0];
    const m = first.match(/:(\d+)$/);
    if (m) place = `${filename}:${Math.min(Number(m[1]) - lineShift, lineCount)}`;
  } else {
    const found = where(err, filename);
    const m = found.match(/:(\d+)$/);
    if (m) place = `${filename}:${Math.min(Number(m[1]) - lineShift, lineCount)}`;
  }
  const esm = name === 'SyntaxError' && /import statement|Unexpected token 'export'/.test(message);
  const hint = esm ? ': ES module syntax is not supported, write module.exports = (output, context) => ...' : '';
  return `${name}: ${message} (at ${place})${hint}`;
}

function builtinRequire(name) {
  const bare = String(name).replace(/^node:/, '');
  if (!builtinModules.includes(bare)) {
    throw new Error(`require('${name}'): only node's own modules can be loaded by an assertion here`);
  }
  return require(bare);
}

const EXTENSIONS = ['', '.js', '.cjs', '.json', '/index.js'];

function moduleRequire(req, ctx, dir, cache) {
  // node's resolution of './x' and '../x' against the requiring file's folder, over the files handed in
  return function (name) {
    const spec = String(name);
    if (!spec.startsWith('./') && !spec.startsWith('../')) return builtinRequire(spec);
    const base = path.resolve(dir, spec);
    const file = EXTENSIONS.map((ext) => base + ext).find((f) => Object.prototype.hasOwnProperty.call(req.modules || {}, f));
    if (file === undefined) {
      throw new Error(`require('${spec}'): ${base} is no file inside the repository that agentbook read for this ` +
        `script (it follows require() of a quoted ./ or ../ path, inside the repository only)`);
    }
    if (cache[file]) return cache[file].exports;
    const code = req.modules[file];
    if (file.endsWith('.json')) {
      cache[file] = { exports: JSON.parse(code) };
      return cache[file].exports;
    }
    const mod = vm.runInContext('({ exports: {} })', ctx);
    cache[file] = mod; // before it runs: a cycle gets the exports so far, as in node
    const wrapper = new vm.Script('(function (exports, require, module, __filename, __dirname) {\n' + code + '\n})',
      { filename: file }).runInContext(ctx);
    wrapper.call(mod.exports, mod.exports, moduleRequire(req, ctx, path.dirname(file), cache), mod, file, path.dirname(file));
    return mod.exports;
  };
}

async function evaluate(req) {
  const ctx = vm.createContext({ __input: JSON.stringify({ output: req.output, context: req.context }) });
  const opts = { timeout: req.ms, breakOnSigint: false };
  let source;
  let shift;
  if (req.module) {
    // CommonJS, as node would wrap the file; the call below runs in the same context under the deadline
    source = '(function (exports, require, module, __filename, __dirname) {\n' + req.code + '\n})';
    shift = 1;
  } else {
    source = '(function (output, context) {\n' + req.code + '\n})';
    shift = 1;
  }
  let script;
  try {
    script = new vm.Script(source, { filename: req.filename });
  } catch (err) {
    return { ok: false, error: describe(err, req.filename, shift, req.code.split('\n').length) };
  }
  try {
    let fn;
    const wrapper = script.runInContext(ctx, opts);
    if (req.module) {
      const mod = vm.runInContext('({ exports: {} })', ctx);
      ctx.__require = moduleRequire(req, ctx, path.dirname(req.filename), {});
      ctx.__wrapper = wrapper;
      ctx.__mod = mod;
      vm.runInContext('__wrapper.call(__mod.exports, __mod.exports, __require, __mod, "", "")', ctx, opts);
      let exported = mod.exports;
      if (req.fn) {
        exported = exported == null ? undefined : exported[req.fn];
        if (typeof exported !== 'function') {
          return { ok: false, error: `${req.filename} exports no function ${req.fn}` };
        }
      } else if (typeof exported !== 'function' && exported && typeof exported.default === 'function') {
        exported = exported.default;
      }
      if (typeof exported !== 'function') {
        return { ok: false, error: `${req.filename} exports no function (module.exports = (output, context) => ...)` };
      }
      fn = exported;
    } else {
      fn = wrapper;
    }
    ctx.__fn = fn;
    const value = vm.runInContext('(() => { const i = JSON.parse(__input); return __fn(i.output, i.context); })()',
      ctx, opts);
    const result = await value;
    return { ok: true, result: plain(result) };
  } catch (err) {
    return { ok: false, error: describe(err, req.filename, shift, req.code.split('\n').length) };
  }
}

function plain(result) {
  // what the runner can judge: booleans, numbers and GradingResult-like objects; anything else by its type
  if (typeof result === 'boolean' || typeof result === 'number') return result;
  if (result && typeof result === 'object') {
    const out = {};
    for (const key of ['pass', 'score', 'reason']) {
      const v = result[key];
      if (typeof v === 'boolean' || typeof v === 'number' || typeof v === 'string') out[key] = v;
    }
    out.__object = true;
    return out;
  }
  return { __type: result === null ? 'null' : typeof result };
}

const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
let chain = Promise.resolve();
lines.on('line', (line) => {
  chain = chain.then(async () => {
    let req;
    try {
      req = JSON.parse(line);
    } catch (err) {
      send({ id: null, ok: false, error: 'bad request line' });
      return;
    }
    const answer = await evaluate(req);
    send({ id: req.id, ...answer });
  });
});
send({ ready: true });
