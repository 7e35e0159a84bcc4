'use strict'
// Reads the interfaces and classes of index.d.ts, enough to compare them with
// the API's schemas and with what index.js exports. Not a TypeScript parser:
// it understands the shapes this package's declarations use.

const DECLARATION = /(\/\*\*(?:(?!\*\/)[\s\S])*\*\/\s*)?export\s+(?:declare\s+)?(interface|class)\s+(\w+)(?:<[^>]*>)?(?:\s+extends\s+[\w.]+)?\s*\{/g

// Index of the bracket closing the one at `open` (skipping the `>` of `=>`).
function closing (text, open) {
  const pairs = { '{': '}', '(': ')', '<': '>', '[': ']' }
  const stack = []
  for (let i = open; i < text.length; i++) {
    const c = text[i]
    if (c === '=' && text[i + 1] === '>') { i++; continue }
    if (pairs[c]) stack.push(pairs[c])
    else if (c === stack[stack.length - 1]) {
      stack.pop()
      if (!stack.length) return i
    }
  }
  throw new Error(`unbalanced bracket at ${open}`)
}

// Splits at `separator` where no bracket is open.
function splitTop (text, separator) {
  const parts = []
  let depth = 0
  let start = 0
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (c === '=' && text[i + 1] === '>') { i++; continue }
    if ('{(<['.includes(c)) depth++
    else if ('})>]'.includes(c)) depth--
    else if (c === separator && depth === 0) {
      parts.push(text.slice(start, i))
      start = i + 1
    }
  }
  parts.push(text.slice(start))
  return parts.map((p) => p.trim()).filter(Boolean)
}

function stripComments (text) {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/[^\n]*/g, '')
}

function tagsOf (doc) {
  const tags = { schema: null, renames: {}, extra: [], loose: [] }
  if (!doc) return tags
  const schema = /@schema\s+(\w+)/.exec(doc)
  if (schema) tags.schema = schema[1]
  for (const m of doc.matchAll(/@rename\s+(\w+)\s+(\w+)/g)) tags.renames[m[1]] = m[2]
  for (const m of doc.matchAll(/@extra\s+(\w+)/g)) tags.extra.push(m[1])
  for (const m of doc.matchAll(/@loose\s+(\w+)/g)) tags.loose.push(m[1])
  return tags
}

function parseParams (text) {
  return splitTop(text, ',').map((param) => {
    const m = /^(\w+)(\?)?\s*:\s*([\s\S]+)$/.exec(param)
    if (!m) throw new Error(`cannot read parameter "${param}"`)
    return { name: m[1], optional: Boolean(m[2]), type: m[3].trim() }
  })
}

function parseMember (text) {
  if (/^constructor\s*\(/.test(text)) return null
  const method = /^(\w+)(\?)?\s*(?:<[^>]*>)?\s*\(/.exec(text)
  if (method) {
    const open = text.indexOf('(', method[0].length - 1)
    const close = closing(text, open)
    const rest = /^\s*:\s*([\s\S]+)$/.exec(text.slice(close + 1))
    if (!rest) throw new Error(`method without a return type: "${text}"`)
    return {
      name: method[1],
      optional: Boolean(method[2]),
      kind: 'method',
      params: parseParams(text.slice(open + 1, close)),
      returns: rest[1].trim()
    }
  }
  const prop = /^(?:readonly\s+)?(\w+)(\?)?\s*:\s*([\s\S]+)$/.exec(text)
  if (!prop) throw new Error(`cannot read member "${text}"`)
  return { name: prop[1], optional: Boolean(prop[2]), kind: 'property', type: prop[3].trim() }
}

/** { Name: { kind, tags, members: { name: member } } } for every exported interface and class. */
function parseDeclarations (source) {
  const declarations = {}
  for (const m of source.matchAll(DECLARATION)) {
    const open = m.index + m[0].length - 1
    const body = stripComments(source.slice(open + 1, closing(source, open)))
    const members = {}
    for (const text of splitTop(body, ';')) {
      const member = parseMember(text.replace(/\s+/g, ' '))
      if (member) members[member.name] = member
    }
    declarations[m[3]] = { kind: m[2], tags: tagsOf(m[1]), members }
  }
  return declarations
}

/** The declared type of `promise` in Promise<T>, or null. */
function promised (type) {
  const m = /^Promise<([\s\S]+)>$/.exec(type.trim())
  return m ? m[1].trim() : null
}

module.exports = { parseDeclarations, promised, splitTop }
