// hours: the opening hours editor's logic (PATCH /nodes/{id}/opening-hours):
// the form made from the hours read, the body sent from the form, the
// reasons of a refusal beside the session, day or date they name, and
// what the hours mean now. No DOM: unit-tested.

export const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']
export const SESSIONS_MAX = 4
/** A special date's choice "closed all day" in the form (the API's null). */
export const CLOSED = 'closed'

/** An editable copy of a week in the API's form (null: every day closed). */
export function weekCopy (week) {
  const out = {}
  for (const d of DAYS) out[d] = ((week && week[d]) || []).map(s => ({ opens: s.opens, closes: s.closes }))
  return out
}

/** The form of GET /nodes/{id}/opening-hours's answer: the node's own week
 *  (or, to start one, a copy of the week in force), its own cut-off, its
 *  own dates. */
export function hoursForm (hours) {
  const own = hours.week.value !== null
  return {
    own,
    week: weekCopy(own ? hours.week.value : hours.week.effective),
    ownCutoff: hours.issue_cutoff_min.value !== null,
    cutoff: String(hours.issue_cutoff_min.value ?? hours.issue_cutoff_min.effective),
    dates: hours.dates.map(d => ({ date: d.date, hours_of: d.hours_of ?? CLOSED, note: d.note || '' })),
  }
}

/** The PATCH body of a form: every member, so that what is shown is what
 *  is kept. A cut-off that is no number is sent as it is, for the API to
 *  name. */
export function hoursBody (form) {
  const cutoff = String(form.cutoff).trim()
  const n = Number(cutoff)
  return {
    week: form.own ? weekCopy(form.week) : null,
    issue_cutoff_min: form.ownCutoff ? (cutoff !== '' && Number.isInteger(n) ? n : cutoff) : null,
    dates: form.dates.map(d => {
      const out = { date: d.date.trim(), hours_of: d.hours_of && d.hours_of !== CLOSED ? d.hours_of : null }
      if (d.note) out.note = d.note
      return out
    }),
  }
}

/** The reason a refusal ({member: reason}) gives for session `i` of `day`
 *  (its `which`: opens or closes, or the session itself), '' if none. */
export function sessionError (fields, day, i, which) {
  return (fields && (fields[`week.${day}[${i}].${which}`] || fields[`week.${day}[${i}]`])) || ''
}

/** The reason for a whole day. */
export function dayError (fields, day) {
  return (fields && fields[`week.${day}`]) || ''
}

/** The reason for date `i` (its date, its weekday or note, or itself). */
export function dateError (fields, i) {
  if (!fields) return ''
  return fields[`dates[${i}].date`] || fields[`dates[${i}].hours_of`] ||
    fields[`dates[${i}].note`] || fields[`dates[${i}]`] || ''
}

/** Where a setting in force comes from: {kind: own | inherited | none, from}. */
export function sourceOf (setting, node) {
  if (!setting.from) return { kind: 'none', from: null }
  return setting.from === node ? { kind: 'own', from: node } : { kind: 'inherited', from: setting.from }
}
