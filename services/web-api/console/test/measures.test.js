// Unit tests of src/api/measures.js: the screen's rounding is the exports'
// (docs/statistics.md, "Exports": half away from zero on the decimal value).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { clock, formatMeasure, roundDecimal } from '../src/api/measures.js'

test('decimal rounding, half away from zero, on the digits', () => {
  assert.equal(roundDecimal('73.3333333', 1), '73.3')
  assert.equal(roundDecimal('1.005', 2), '1.01') // 1.005.toFixed(2) is "1.00"
  assert.equal(roundDecimal('-2.25', 1), '-2.3')
  assert.equal(roundDecimal('9.95', 1), '10.0')
  assert.equal(roundDecimal('0.04', 1), '0.0')
  assert.equal(roundDecimal('-0.04', 1), '0.0')
  assert.equal(roundDecimal('12', 0), '12')
  assert.equal(roundDecimal('1e-7', 2), '0.00')
  assert.equal(roundDecimal('2.5e3', 0), '2500')
})

test('measures as the screen and the files show them', () => {
  assert.equal(formatMeasure(0.95238095, 'percent', 1), '95.2%')
  assert.equal(formatMeasure(0.9995, 'percent', 1), '100.0%')
  assert.equal(formatMeasure(1, 'percent', 1), '100.0%')
  assert.equal(formatMeasure(73.3333, 'decimal', 1), '73.3')
  assert.equal(formatMeasure(4.125, 'decimal', 2), '4.13')
  assert.equal(formatMeasure(12, 'integer', 0), '12')
  assert.equal(formatMeasure(null, 'decimal', 1), '')
})

test('clock', () => {
  assert.equal(clock(65), '1:05')
  assert.equal(clock(3725), '1:02:05')
  assert.equal(clock(null), '')
})
