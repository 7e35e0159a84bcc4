'use strict'
// The tests against a live MiniHub and the fake WeChat server, in one process
// and in this order (they share the fake's faults and call counts).
// tests/test_wx_client.py sets them up and runs: node --test test/live.test.js

require('./live/schema')
require('./live/login')
require('./live/helpers')
require('./live/retries')
require('./live/example')
