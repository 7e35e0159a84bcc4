'use strict'
// The package itself: no dependencies, ES2017 CommonJS that the mini-program
// runtime takes as it is, and declarations that match what index.js exports.

const { describe, it } = require('node:test')
const assert = require('node:assert/strict')
const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const { parseDeclarations, promised } = require('../support/dts')

const ROOT = path.resolve(__dirname, '../..')
const read = (name) => fs.readFileSync(path.join(ROOT, name), 'utf8')

// Node ships acorn for its own use; --expose-internals lends it to us, so the
// check needs nothing installed. It parses as the runtime would: ES2017, script.
function es2017Problems (files) {
  const program = `
    const { Parser } = require('internal/deps/acorn/acorn/dist/acorn')
    const fs = require('fs')
    const problems = []
    for (const file of JSON.parse(process.argv[1])) {
      try {
        Parser.parse(fs.readFileSync(file, 'utf8'), { ecmaVersion: 2017, sourceType: 'script' })
      } catch (err) {
        problems.push(file + ': ' + err.message)
      }
    }
    process.stdout.write(JSON.stringify(problems))
  `
  const out = execFileSync(process.execPath, ['--expose-internals', '-e', program, JSON.stringify(files)])
  return JSON.parse(out.toString())
}

function jsFilesUnder (dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) return jsFilesUnder(full)
    return entry.name.endsWith('.js') ? [full] : []
  })
}

describe('package', () => {
  const pkg = JSON.parse(read('package.json'))

  it('is minihub-wx, CommonJS, with its declarations, and depends on nothing', () => {
    assert.equal(pkg.name, 'minihub-wx')
    assert.equal(pkg.main, 'index.js')
    assert.equal(pkg.types, 'index.d.ts')
    assert.notEqual(pkg.type, 'module')
    for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies', 'devDependencies']) {
      assert.equal(pkg[field], undefined, `${field} must stay empty`)
    }
    assert.deepEqual(pkg.files.slice().sort(), ['README.md', 'index.d.ts', 'index.js'])
    for (const file of pkg.files) assert.ok(fs.existsSync(path.join(ROOT, file)), file)
  })

  it('index.js requires no module', () => {
    assert.doesNotMatch(read('index.js'), /\brequire\s*\(/)
  })

  it('index.js and the example page are valid ES2017 (no ?., ??, object spread, ...)', () => {
    const files = [path.join(ROOT, 'index.js'), ...jsFilesUnder(path.join(ROOT, 'example'))]
    assert.ok(files.length >= 3, files.join())
    assert.deepEqual(es2017Problems(files), [])
  })

  it('the ES2017 check does fail on later syntax', () => {
    const dir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'minihub-wx-'))
    const later = path.join(dir, 'later.js')
    fs.writeFileSync(later, 'const a = {}; const b = a?.x ?? 1; const c = { ...a }\n')
    try {
      assert.equal(es2017Problems([later]).length, 1)
    } finally {
      fs.rmSync(dir, { recursive: true })
    }
  })
})

describe('index.d.ts', () => {
  const declarations = parseDeclarations(read('index.d.ts'))
  const exported = require('../..')

  it('declares what index.js exports', () => {
    const source = read('index.d.ts')
    for (const name of Object.keys(exported)) {
      assert.match(source, new RegExp(`export declare (function|class) ${name}\\b`), name)
    }
  })

  it('declares every member of a client, with the kind it has', () => {
    const { createClient } = exported
    const client = createClient({ baseURL: 'https://api.example.com/api/v2', appid: 'wx0123456789abcdef', wx: { request () {} } })
    const compare = (object, declName) => {
      const decl = declarations[declName]
      assert.ok(decl, `no declaration ${declName}`)
      assert.deepEqual(Object.keys(decl.members).sort(), Object.keys(object).sort(), declName)
      for (const [name, value] of Object.entries(object)) {
        const member = decl.members[name]
        if (typeof value === 'function') {
          assert.equal(member.kind, 'method', `${declName}.${name}`)
          if (name !== 'hasToken') assert.ok(promised(member.returns), `${declName}.${name} returns a Promise`)
        } else {
          assert.equal(member.kind, 'property', `${declName}.${name}`)
          compare(value, member.type)
        }
      }
    }
    compare(client, 'MiniHubClient')
  })

  it('declares the fields a MiniHubError has', () => {
    const err = new exported.MiniHubError({ status: 404, code: 'not_found', message: 'No.', requestId: 'r1' })
    const own = Object.keys(err).concat('message').sort()
    assert.deepEqual(Object.keys(declarations.MiniHubError.members).sort(), own)
  })

  it('refers only to types it declares', () => {
    const known = new Set([
      ...Object.keys(declarations),
      ...[...read('index.d.ts').matchAll(/export type (\w+)/g)].map((m) => m[1]),
      'Promise', 'Array', 'Record', 'ArrayBuffer', 'Error', 'T', 'string', 'number', 'boolean',
      'null', 'undefined', 'unknown', 'void', 'object'
    ])
    for (const [declName, decl] of Object.entries(declarations)) {
      for (const member of Object.values(decl.members)) {
        const types = [member.type, member.returns, ...(member.params || []).map((p) => p.type)].filter(Boolean)
        for (const type of types) {
          // Names in type position, minus string literals and inline object keys.
          const words = type.replace(/'[^']*'/g, '').replace(/\b\w+\??\s*:/g, '').match(/\b[A-Za-z_]\w*\b/g) || []
          for (const word of words) assert.ok(known.has(word), `${declName}.${member.name}: unknown type ${word}`)
        }
      }
    }
  })
})
