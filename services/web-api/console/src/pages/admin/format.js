// format: times in the management tables, in the console's language.
import { localTime } from '../../i18n.js'

/** An RFC 3339 time as the current language writes it; '' for null. */
export const when = iso => (iso ? localTime(iso) : '')
