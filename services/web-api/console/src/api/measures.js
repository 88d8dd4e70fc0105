// measures: the statistics' measures as the screen and the exports show them
// (docs/statistics.md, "Exports": the same rounding, half away from zero on
// the JSON's decimal value, a percent with one place), and their names.

/** [member, type, places, Chinese header (the export's), English header] */
export const MEASURES = [
  ['issued', 'integer', 0, '取号数', 'Issued'],
  ['walk_ins', 'integer', 0, '直接办理数', 'Walk-ins'],
  ['visits', 'integer', 0, '到访数', 'Visits'],
  ['served', 'integer', 0, '办结数', 'Served'],
  ['pct_served', 'percent', 1, '办结率', 'Served %'],
  ['no_show', 'integer', 0, '过号数', 'No-shows'],
  ['abandoned', 'integer', 0, '放弃数', 'Abandoned'],
  ['transferred', 'integer', 0, '转出数', 'Transferred'],
  ['wait_avg_s', 'decimal', 1, '平均等候(秒)', 'Avg wait (s)'],
  ['wait_max_s', 'decimal', 1, '最长等候(秒)', 'Max wait (s)'],
  ['wait_p90_s', 'decimal', 1, '等候90分位(秒)', 'Wait P90 (s)'],
  ['svc_avg_s', 'decimal', 1, '平均办理(秒)', 'Avg service (s)'],
  ['svc_p90_s', 'decimal', 1, '办理90分位(秒)', 'Service P90 (s)'],
  ['service_level', 'percent', 1, '服务水平', 'Service level'],
  ['rated', 'integer', 0, '评价数', 'Ratings'],
  ['rated_share', 'percent', 1, '参评率', 'Rated share'],
  ['satisfaction', 'percent', 1, '满意率', 'Satisfaction'],
  ['unsatisfied', 'integer', 0, '不满意数', 'Unsatisfied'],
  ['mean_score', 'decimal', 2, '平均得分', 'Mean score'],
  ['customers_per_hour', 'decimal', 2, '每在岗小时服务人数', 'Customers / hour'],
  ['busy_ratio', 'percent', 1, '窗口繁忙率', 'Busy ratio'],
]

/** The decimal text of `text` (a number's decimal digits, e.g. "73.35" or
 *  "-0.125" or "1e-7") rounded to `places`, half away from zero, exactly on
 *  the digits (never through binary floating point). */
export function roundDecimal (text, places) {
  let s = String(text).trim()
  let neg = false
  if (s.startsWith('-')) { neg = true; s = s.slice(1) }
  let exp = 0
  const e = s.search(/e/i)
  if (e >= 0) { exp = Number(s.slice(e + 1)); s = s.slice(0, e) }
  let [int, frac = ''] = s.split('.')
  // move the point by the exponent
  let digits = int + frac
  let point = int.length + exp
  if (point < 0) { digits = '0'.repeat(-point) + digits; point = 0 }
  if (point > digits.length) digits += '0'.repeat(point - digits.length)
  int = digits.slice(0, point) || '0'
  frac = digits.slice(point)
  const keep = (frac + '0'.repeat(places)).slice(0, places)
  const next = frac.length > places ? frac[places] : '0'
  let all = (int + keep).split('').map(Number)
  if (next >= '5') {
    let i = all.length - 1
    for (; i >= 0; i--) {
      if (all[i] === 9) all[i] = 0
      else { all[i] += 1; break }
    }
    if (i < 0) all = [1, ...all]
  }
  const str = all.join('')
  const ip = str.slice(0, str.length - places).replace(/^0+(?=\d)/, '') || '0'
  const out = places > 0 ? `${ip}.${str.slice(str.length - places)}` : ip
  return neg && /[1-9]/.test(out) ? `-${out}` : out
}

/** The text of `value` (a JSON number, or null: '') as a measure of `type`
 *  ('integer', 'decimal', 'percent') with `places`: "95.2%", "73.3", "12". */
export function formatMeasure (value, type, places) {
  if (value === null || value === undefined) return ''
  if (type === 'integer') return String(value)
  if (type === 'percent') return `${roundDecimal(shift(value, 2), places)}%`
  return roundDecimal(String(value), places)
}

/** The decimal text of value x 10^n (the point moved, no arithmetic). */
function shift (value, n) {
  const s = String(value)
  const e = s.search(/e/i)
  if (e >= 0) return `${s.slice(0, e)}e${Number(s.slice(e + 1)) + n}`
  return `${s}e${n}`
}

/** Seconds as "m:ss" or "h:mm:ss"; '' for null. */
export function clock (seconds) {
  if (seconds === null || seconds === undefined) return ''
  const s = Math.max(0, Math.round(seconds))
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const ss = String(s % 60).padStart(2, '0')
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`
}
