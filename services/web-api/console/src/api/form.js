// form: the state of a form that sends a request: busy, the refusal's
// message above the form and its reasons beside the fields they name
// (errors[].member of the Problem Details).
import { ref } from 'vue'

/** `members`: the members the form has a field for. */
export function useProblemForm (members) {
  const fields = ref({})
  const message = ref('')
  const busy = ref(false)

  function reset () {
    fields.value = {}
    message.value = ''
  }

  /** Shows an ApiError: its field reasons beside their fields, and its
   *  detail (or `text`) above the form unless a field already says it. */
  function show (e, text) {
    fields.value = e.fieldErrors || {}
    const beside = members.some(m => m in fields.value)
    message.value = text || (beside ? '' : (e.problem?.detail || e.message))
  }

  return { fields, message, busy, reset, show }
}
