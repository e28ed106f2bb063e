/* The call deadline of a translated actor: each entry into the guest may run deadline_ms of
 * the guest's own time, told by the board's clock (a native module cannot read it but through
 * the ticks functions the engine hands in).
 *
 * Time in the host does not count, as on the board's wasm3 module: every call out of the
 * translated code into Python (a linked import, the console's log sink) stops the guest's
 * clock, and the deadline moves on by what the call took.
 *
 * Included by the glue file after aot_instance_t and AOT_COUNTDOWN, before the code that
 * calls out; clock() in aotentry.c sets the deadline and the ticks functions.
 */

static mp_obj_t aot_ticks(aot_instance_t *inst) {
    return mp_call_function_n_kw(inst->ticks_ms, 0, 0, NULL);
}

/* milliseconds from `since` (a tick of aot_ticks) to now */
static mp_int_t aot_ms_since(aot_instance_t *inst, mp_obj_t since) {
    mp_obj_t args[2] = {aot_ticks(inst), since};
    return mp_obj_get_int(mp_call_function_n_kw(inst->ticks_diff, 2, 0, args));
}

/* The clock of a new entry into the guest (or of the module's instantiation) */
static void aot_clock_start(aot_instance_t *inst) {
    if (inst->deadline_ms) {
        inst->started = aot_ticks(inst);
    }
    inst->host_ms = 0;
}

/* The countdown the instrumentation keeps (edgecli.aotdeadline) ran out: the call traps once
 * the guest has run past its deadline, and otherwise counts down again */
static uint32_t aot_deadline_step(aot_instance_t *inst) {
    if (inst->deadline_ms
        && aot_ms_since(inst, inst->started) - inst->host_ms > inst->deadline_ms) {
        mp_raise_msg(&mp_type_RuntimeError, MP_ERROR_TEXT("[trap] deadline exceeded"));
    }
    return AOT_COUNTDOWN;
}

/* fn(*args) in Python, off the guest's clock. A call that raises ends the entry into the
 * guest, so its time is not owed then. */
static mp_obj_t aot_call_out(aot_instance_t *inst, mp_obj_t fn, size_t n_args,
                             const mp_obj_t *args) {
    if (!inst->deadline_ms) {
        return mp_call_function_n_kw(fn, n_args, 0, args);
    }
    mp_obj_t entered = aot_ticks(inst);
    mp_obj_t result = mp_call_function_n_kw(fn, n_args, 0, args);
    inst->host_ms += aot_ms_since(inst, entered);
    return result;
}
