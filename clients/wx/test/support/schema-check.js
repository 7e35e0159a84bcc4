'use strict'
// Compares index.d.ts with MiniHub's OpenAPI document. Returns a list of
// problems (empty when they agree), each naming what to fix.
//
// - Every operation is either served by a helper (OPERATIONS) or listed as not
//   for mini-programs: a new endpoint fails until it gets a helper or a reason.
// - A helper's return type mirrors the operation's answer; its parameters
//   carry the request body and query parameters.
// - An interface tagged `@schema X` has exactly X's fields (after @rename and
//   @extra), optional where X does not require them, with compatible types:
//   a field added to the API and not to the declarations fails.

const { promised } = require('./dts')

// Which helper serves which operation. `body` lists the request body's fields
// when the helper takes them as plain parameters: field -> parameter (null: the
// client fills it in itself).
const OPERATIONS = {
  'POST /auth/login': { helper: 'login', body: { code: null } },
  'POST /auth/logout': { helper: 'logout' },
  'GET /me': { helper: 'me.get' },
  'POST /me': { helper: 'me.update' },
  'POST /me/phone': { helper: 'me.phone', body: { code: 'code' } },
  'POST /me/userinfo': { helper: 'me.userinfo' },
  'POST /me/subscriptions': { helper: 'subscriptions.request', body: { template_ids: 'templateIds' } },
  'GET /me/favorites': { helper: 'me.favorites' },
  'POST /content/check': { helper: 'content.check', body: { text: 'text' } },
  'GET /qrcode': { helper: 'qrcode' },
  'GET /albums': { helper: 'albums.list' },
  'GET /albums/{album_id}': { helper: 'albums.get' },
  'POST /albums/{album_id}/plays': { helper: 'albums.play' },
  'PUT /albums/{album_id}/favorite': { helper: 'albums.favorite' },
  'DELETE /albums/{album_id}/favorite': { helper: 'albums.unfavorite' }
}

const NOT_FOR_MINI_PROGRAMS = {
  'GET /ping': 'monitoring',
  'GET /health': 'monitoring',
  'GET /health/live': 'monitoring',
  'PATCH /me': 'wx.request cannot send PATCH: me.update sends POST /me, the same operation',
  'GET /wechat/push/{appid}': "WeChat's servers call it",
  'POST /wechat/push/{appid}': "WeChat's servers call it"
}

// Mirrored although no 2xx answer names them: the error envelope.
const ALWAYS_MIRRORED = ['ErrorBody', 'FieldError']

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options']

function refName (schema) {
  return schema && schema.$ref ? schema.$ref.split('/').pop() : null
}

function variantsOf (schema) {
  const list = schema.anyOf || schema.oneOf || [schema]
  return {
    nullable: list.some((v) => v.type === 'null'),
    types: list.filter((v) => v.type !== 'null')
  }
}

function hasWord (text, word) {
  const escaped = word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  return new RegExp(`(^|[^\\w'])${escaped}($|[^\\w'])`).test(text)
}

function checkDeclarations (openapi, declarations, { prefix = '/api/v2' } = {}) {
  const problems = []
  const components = (openapi.components && openapi.components.schemas) || {}
  const mirrorOf = {} // schema name -> declaration name
  for (const [name, decl] of Object.entries(declarations)) {
    const schema = decl.tags.schema
    if (!schema) continue
    if (!components[schema]) problems.push(`${name}: @schema ${schema} is not in the API's schemas`)
    else if (mirrorOf[schema]) problems.push(`${schema} is mirrored twice (${mirrorOf[schema]}, ${name})`)
    else mirrorOf[schema] = name
  }
  const roles = {} // schema name -> 'output' | 'input'
  const mark = (schemaName, role) => { if (!roles[schemaName]) roles[schemaName] = role }
  const client = declarations.MiniHubClient
  if (!client) return [...problems, 'index.d.ts declares no MiniHubClient']

  function helperOf (path) {
    let owner = client
    const parts = path.split('.')
    for (const part of parts.slice(0, -1)) {
      const member = owner.members[part]
      owner = member && member.kind === 'property' ? declarations[member.type] : null
      if (!owner) return null
    }
    const member = owner.members[parts[parts.length - 1]]
    return member && member.kind === 'method' ? member : null
  }

  // --- operations -----------------------------------------------------------------------
  const seen = new Set()
  for (const [fullPath, item] of Object.entries(openapi.paths || {})) {
    const path = fullPath.startsWith(prefix) ? fullPath.slice(prefix.length) : fullPath
    for (const method of HTTP_METHODS) {
      const op = item[method]
      if (!op) continue
      const key = `${method.toUpperCase()} ${path}`
      seen.add(key)
      if (NOT_FOR_MINI_PROGRAMS[key]) continue
      const entry = OPERATIONS[key]
      if (!entry) {
        problems.push(`${key}: no helper serves this operation (add one, or say why not)`)
        continue
      }
      const helper = helperOf(entry.helper)
      if (!helper) {
        problems.push(`${key}: index.d.ts declares no method ${entry.helper}`)
        continue
      }
      problems.push(...checkAnswer(key, op, helper, entry, mirrorOf, mark))
      problems.push(...checkBody(key, op, helper, entry, components, declarations, mirrorOf, mark))
      problems.push(...checkParameters(key, op, helper, entry, declarations))
    }
  }
  for (const key of [...Object.keys(OPERATIONS), ...Object.keys(NOT_FOR_MINI_PROGRAMS)]) {
    if (!seen.has(key)) problems.push(`${key}: listed here but not in the API`)
  }

  // --- schemas, and the schemas they refer to -------------------------------------------
  for (const name of ALWAYS_MIRRORED) mark(name, 'output')
  const queue = Object.keys(roles)
  while (queue.length) {
    const schemaName = queue.shift()
    const schema = components[schemaName]
    if (!schema) continue
    for (const prop of Object.values(schema.properties || {})) {
      for (const ref of refsIn(prop)) {
        if (!roles[ref]) {
          mark(ref, roles[schemaName])
          queue.push(ref)
        }
      }
    }
  }
  for (const [schemaName, role] of Object.entries(roles)) {
    const declName = mirrorOf[schemaName]
    if (!declName) {
      problems.push(`${schemaName}: the client uses it but no declaration is tagged @schema ${schemaName}`)
      continue
    }
    problems.push(...checkMirror(components[schemaName], schemaName, declarations[declName], declName, role, mirrorOf))
  }
  for (const [schemaName, declName] of Object.entries(mirrorOf)) {
    if (!roles[schemaName]) {
      problems.push(...checkMirror(components[schemaName], schemaName, declarations[declName], declName, 'input', mirrorOf))
    }
  }
  return problems
}

function refsIn (schema) {
  const found = []
  const walk = (s) => {
    if (!s || typeof s !== 'object') return
    if (s.$ref) found.push(refName(s))
    for (const v of [...(s.anyOf || []), ...(s.oneOf || []), s.items, s.additionalProperties]) walk(v)
  }
  walk(schema)
  return found
}

function checkAnswer (key, op, helper, entry, mirrorOf, mark) {
  const problems = []
  const returned = promised(helper.returns)
  if (returned === null) return [`${key}: ${entry.helper} should return a Promise, declares ${helper.returns}`]
  const success = Object.keys(op.responses || {}).filter((code) => /^2\d\d$/.test(String(code)))
  if (success.length !== 1) return [`${key}: expected one 2xx answer, the API has ${success.join(', ') || 'none'}`]
  const response = op.responses[success[0]]
  const content = response.content || {}
  const types = Object.keys(content)
  if (!types.length) {
    if (returned !== 'void') problems.push(`${key}: answers ${success[0]} without a body, ${entry.helper} declares Promise<${returned}>`)
    return problems
  }
  const schema = content[types[0]].schema || {}
  if (schema.format === 'binary') {
    if (returned !== 'ArrayBuffer') problems.push(`${key}: answers binary ${types[0]}, ${entry.helper} declares Promise<${returned}>`)
    return problems
  }
  const ref = refName(schema)
  if (!ref) return [`${key}: the answer has no named schema to check ${entry.helper} against`]
  mark(ref, 'output')
  const expected = mirrorOf[ref]
  if (expected && returned !== expected) {
    problems.push(`${key}: answers ${ref} (declared as ${expected}), ${entry.helper} declares Promise<${returned}>`)
  }
  return problems
}

function checkBody (key, op, helper, entry, components, declarations, mirrorOf, mark) {
  const body = op.requestBody
  const fieldsByParam = entry.body
  if (!body) {
    return fieldsByParam ? [`${key}: has no request body, the table expects ${Object.keys(fieldsByParam)}`] : []
  }
  const content = body.content || {}
  const schema = (content['application/json'] || Object.values(content)[0] || {}).schema
  const ref = refName(schema)
  if (!ref) return [`${key}: the request body has no named schema`]
  if (fieldsByParam) {
    const problems = []
    const fields = Object.keys(components[ref].properties || {}).sort()
    const listed = Object.keys(fieldsByParam).sort()
    if (fields.join() !== listed.join()) {
      problems.push(`${key}: the body (${ref}) has fields ${fields.join(', ')}; ${entry.helper} sends ${listed.join(', ')}`)
    }
    for (const param of Object.values(fieldsByParam)) {
      if (param && !helper.params.some((p) => p.name === param)) {
        problems.push(`${key}: ${entry.helper} has no parameter ${param}`)
      }
    }
    return problems
  }
  mark(ref, 'input')
  const declName = mirrorOf[ref]
  if (!declName) return [] // reported as an unmirrored schema
  if (!helper.params.some((p) => p.type === declName)) {
    return [`${key}: the body is ${ref} (declared as ${declName}); no parameter of ${entry.helper} has that type`]
  }
  return []
}

function checkParameters (key, op, helper, entry, declarations) {
  const problems = []
  const params = op.parameters || []
  const inPath = params.filter((p) => p.in === 'path')
  const inQuery = params.filter((p) => p.in === 'query')
  if (inPath.length) {
    const first = helper.params[0]
    for (const p of inPath) {
      const token = p.schema && p.schema.type === 'integer' ? 'number' : 'string'
      if (!first || first.optional || !hasWord(first.type, token)) {
        problems.push(`${key}: path parameter ${p.name} (${token}) should be ${entry.helper}'s first parameter`)
      }
    }
  }
  if (inQuery.length) {
    const holder = helper.params.map((p) => declarations[p.type]).find(Boolean)
    if (!holder) return [...problems, `${key}: ${entry.helper} takes no options object for the query parameters`]
    const renames = holder.tags.renames
    for (const p of inQuery) {
      const name = renames[p.name] || p.name
      const member = holder.members[name]
      if (!member) problems.push(`${key}: query parameter ${p.name} is missing from ${entry.helper}'s options`)
      else if (p.required && member.optional) problems.push(`${key}: query parameter ${p.name} is required`)
    }
  }
  return problems
}

function expectedTokens (schema, mirrorOf) {
  const ref = refName(schema)
  if (ref) return mirrorOf[ref] ? [mirrorOf[ref]] : [`<no declaration for ${ref}>`]
  if (schema.enum) return schema.enum.map((v) => JSON.stringify(v).replace(/"/g, "'"))
  switch (schema.type) {
    case 'integer':
    case 'number':
      return ['number']
    case 'string':
      return ['string']
    case 'boolean':
      return ['boolean']
    case 'array': {
      const items = variantsOf(schema.items || {})
      return ['[array]', ...items.types.flatMap((t) => expectedTokens(t, mirrorOf))]
    }
    case 'object':
      if (schema.additionalProperties && typeof schema.additionalProperties === 'object') {
        return ['[record]', ...expectedTokens(schema.additionalProperties, mirrorOf)]
      }
      return ['object']
    default:
      return []
  }
}

function checkMirror (schema, schemaName, decl, declName, role, mirrorOf) {
  const problems = []
  const where = `${declName} (@schema ${schemaName})`
  const properties = schema.properties || {}
  const required = new Set(schema.required || [])
  const { renames, extra, loose } = decl.tags
  const expected = new Set()
  for (const [field, prop] of Object.entries(properties)) {
    const name = renames[field] || field
    expected.add(name)
    const member = decl.members[name]
    if (!member) {
      problems.push(`${where}: the API's field ${field} is missing`)
      continue
    }
    if (loose.includes(field)) continue
    const type = member.type || ''
    if (role === 'output' && required.has(field) && member.optional) {
      problems.push(`${where}: ${name} is always in the answer, declared optional`)
    }
    if (role === 'input' && required.has(field) === member.optional) {
      problems.push(`${where}: ${name} is ${required.has(field) ? 'required' : 'optional'} in the API`)
    }
    const { nullable, types } = variantsOf(prop)
    if (role === 'output' && nullable !== hasWord(type, 'null')) {
      problems.push(`${where}: ${name} is ${nullable ? '' : 'never '}null in the API, declared ${type}`)
    }
    for (const variant of types) {
      for (const token of expectedTokens(variant, mirrorOf)) {
        const ok = token === '[array]'
          ? /\[\]|Array</.test(type)
          : token === '[record]' ? /Record<string,|\[\w+: string\]/.test(type) : hasWord(type, token)
        if (!ok) problems.push(`${where}: ${name} is ${describe(variant)} in the API, declared ${type}`)
      }
    }
  }
  for (const name of Object.keys(decl.members)) {
    if (!expected.has(name) && !extra.includes(name)) {
      problems.push(`${where}: ${name} is not a field of the API's ${schemaName} (tag it @extra if it is the client's own)`)
    }
  }
  return problems
}

function describe (schema) {
  return refName(schema) || (schema.enum ? `one of ${schema.enum.join('/')}` : schema.type)
}

module.exports = { checkDeclarations, OPERATIONS, NOT_FOR_MINI_PROGRAMS }
