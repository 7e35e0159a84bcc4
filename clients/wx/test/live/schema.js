'use strict'
// index.d.ts against the live server's OpenAPI document.

const { describe, it, before } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')

const { parseDeclarations } = require('../support/dts')
const { checkDeclarations } = require('../support/schema-check')
const { env, rawGet } = require('../support/live')

describe('declarations against /openapi.json (live)', () => {
  let openapi
  let declarations
  const prefix = new URL(env.baseURL).pathname.replace(/\/$/, '')

  before(async () => {
    const answer = await rawGet('/openapi.json', {})
    assert.equal(answer.status, 200)
    openapi = answer.body
    declarations = parseDeclarations(fs.readFileSync(path.join(__dirname, '../../index.d.ts'), 'utf8'))
  })

  it('index.d.ts agrees with the API', () => {
    assert.deepEqual(checkDeclarations(openapi, declarations, { prefix }), [])
  })

  it('a field, an endpoint or a nullability the declarations lack is reported', () => {
    const changed = JSON.parse(JSON.stringify(openapi))
    const schemas = changed.components.schemas
    schemas.UserOut.properties.gender = { type: 'integer' }
    schemas.UserOut.required.push('gender')
    schemas.AlbumOut.properties.title = { anyOf: [{ type: 'string' }, { type: 'null' }] }
    schemas.ContentCheckOut.properties.suggest.enum.push('block')
    changed.paths[`${prefix}/albums/{album_id}/tracks`] = { get: { responses: { 200: {} } } }
    assert.deepEqual(checkDeclarations(changed, declarations, { prefix }).sort(), [
      'Album (@schema AlbumOut): title is null in the API, declared string',
      "ContentCheckResult (@schema ContentCheckOut): suggest is one of pass/review/risky/block in the API, declared 'pass' | 'review' | 'risky'",
      'GET /albums/{album_id}/tracks: no helper serves this operation (add one, or say why not)',
      "User (@schema UserOut): the API's field gender is missing"
    ])
  })
})
