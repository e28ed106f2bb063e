/* The waPC exchange of a translated actor, in C: what edgehost/wapc.py's Exchange does in
 * Python and the board's wasm3 module does in its own C (wasm3.Exchange), with the same
 * interface, so WapcHost drives either. begin() sets a call's operation and payload and resets
 * its state; the guest's request, answer and error, the host call's answer or error and console
 * lines move between linear memory and Python objects without a Python frame. __host_call stays
 * in Python, which stores its outcome in host_response and host_error. A pointer outside linear
 * memory traps the guest with the cause the Python exchange gives.
 *
 * Included by the glue file after aot_instance_t and AOT_MEMORY; an import the exchange serves
 * calls the function of the same name here when the instance linked the exchange object to it.
 * This mirrors wasm3.Exchange rather than sharing its code: a native module links nothing of
 * the firmware's C, and builds against dynruntime.h, which lacks vstr and the printer that code
 * uses. tests/engine runs the same scenarios on both engines to keep the two in step.
 */

typedef struct {
    mp_obj_base_t base;
    mp_obj_t instance;      /* the instance's buffer, kept alive with the exchange */
    wasm_rt_memory_t *memory;
    mp_obj_t operation;     /* the call's, as begin() got them */
    mp_obj_t payload;
    mp_obj_t response;      /* None until the guest answers */
    mp_obj_t error;         /* None until the guest reports an error */
    mp_obj_t host_response; /* the last host call's outcome, set from Python */
    mp_obj_t host_error;
    mp_obj_t on_log;        /* callable(text) or None */
    mp_obj_t status;        /* what __guest_call returned, kept by call() */
    mp_uint_t max_payload;
    mp_uint_t max_log;
    mp_uint_t oversize;     /* the length of an answer or error above max_payload, else 0 */
} aot_exchange_t;

mp_obj_full_type_t aot_exchange_type;

static aot_instance_t *aot_instance(mp_obj_t buffer);

static mp_obj_t aot_call1(mp_obj_t fn, mp_obj_t arg) {
    return mp_call_function_n_kw(fn, 1, 0, &arg);
}

static mp_obj_t aot_new_text(const char *text) {
    size_t length = 0;
    while (text[length]) {
        length++;
    }
    return mp_obj_new_str(text, length);
}

/* The `length` bytes at `ptr`, or a trap naming `what` if they run past linear memory. As in the
 * Python exchange, a copy of nothing never traps; only a console line's span is checked even
 * when empty (`strict`). */
static uint8_t *aot_guest_span(aot_exchange_t *self, uint32_t ptr, uint32_t length,
                               const char *what, bool strict) {
    wasm_rt_memory_t *memory = self->memory;
    if (length == 0 && !strict) {
        return memory->data;  /* nothing is copied to or from it */
    }
    if ((uint64_t)ptr + length > memory->size) {
        mp_obj_t values[4] = {
            aot_new_text(what), mp_obj_new_int_from_uint(length),
            mp_obj_new_int_from_uint(ptr), mp_obj_new_int_from_uint(memory->size),
        };
        mp_obj_t message = mp_binary_op(MP_BINARY_OP_MODULO,
            aot_new_text("[trap] %s: %d bytes at 0x%x run past the end of linear memory "
                         "(%d bytes)"),
            mp_obj_new_tuple(4, values));
        nlr_raise(mp_obj_new_exception_arg1(&mp_type_RuntimeError, message));
    }
    return memory->data + ptr;
}

/* The bytes of what the exchange holds: bytes, bytearray or memoryview. */
static void aot_bytes(mp_obj_t data, mp_buffer_info_t *buf) {
    mp_get_buffer_raise(data, buf, MP_BUFFER_READ);
}

static uint32_t aot_bytes_len(mp_obj_t data) {
    mp_buffer_info_t buf;
    aot_bytes(data, &buf);
    return (uint32_t)buf.len;
}

static void aot_guest_request(aot_exchange_t *self, uint32_t op_ptr, uint32_t ptr) {
    mp_buffer_info_t operation, payload;
    aot_bytes(self->operation, &operation);
    aot_bytes(self->payload, &payload);
    uint8_t *op_at = aot_guest_span(self, op_ptr, operation.len,
                                    "__guest_request operation", false);
    uint8_t *payload_at = aot_guest_span(self, ptr, payload.len, "__guest_request payload",
                                         false);
    memcpy(op_at, operation.buf, operation.len);
    memcpy(payload_at, payload.buf, payload.len);
}

/* The guest's answer or error: its bytes, or b"" and the length kept in `oversize` when it is
 * above the limit (the call then fails with PayloadTooLarge). */
static mp_obj_t aot_take(aot_exchange_t *self, uint32_t ptr, uint32_t length, const char *what) {
    const uint8_t *data = aot_guest_span(self, ptr, length, what, false);
    if (length > self->max_payload) {
        self->oversize = length;
        return mp_const_empty_bytes;
    }
    return mp_obj_new_bytes(data, length);
}

static void aot_guest_response(aot_exchange_t *self, uint32_t ptr, uint32_t length) {
    self->response = aot_take(self, ptr, length, "__guest_response");
}

static void aot_guest_error(aot_exchange_t *self, uint32_t ptr, uint32_t length) {
    self->error = aot_take(self, ptr, length, "__guest_error");
}

static void aot_put(aot_exchange_t *self, uint32_t ptr, mp_obj_t data, const char *what) {
    mp_buffer_info_t buf;
    aot_bytes(data, &buf);
    memcpy(aot_guest_span(self, ptr, buf.len, what, false), buf.buf, buf.len);
}

static uint32_t aot_host_response_len(aot_exchange_t *self) {
    return aot_bytes_len(self->host_response);
}

static void aot_host_response(aot_exchange_t *self, uint32_t ptr) {
    aot_put(self, ptr, self->host_response, "__host_response");
}

static uint32_t aot_host_error_len(aot_exchange_t *self) {
    return aot_bytes_len(self->host_error);
}

static void aot_host_error(aot_exchange_t *self, uint32_t ptr) {
    aot_put(self, ptr, self->host_error, "__host_error");
}

/* MicroPython's own test of what str(data, "utf-8") accepts */
static bool aot_utf8(const uint8_t *data, size_t length) {
    unsigned need = 0;
    for (; length--; data++) {
        uint8_t c = *data;
        if (need) {
            if ((c & 0xC0) != 0x80) {
                return false;
            }
            need--;
        } else if (c >= 0xF8) {
            return false;
        } else if (c >= 0xC0) {
            need = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : 1;
        } else if (c >= 0x80) {
            return false;
        }
    }
    return need == 0;
}

/* A console line: at most max_log bytes of it, as text (or the repr of its bytes when they are
 * not UTF-8), with its full length when cut. The engine hands in a log sink that does not
 * raise. */
static void aot_console_log(aot_exchange_t *self, uint32_t ptr, uint32_t length) {
    const uint8_t *data = aot_guest_span(self, ptr, length, "__console_log", true);
    if (self->on_log == mp_const_none) {
        return;
    }
    size_t shown = length < self->max_log ? length : self->max_log;
    mp_obj_t text;
    if (aot_utf8(data, shown)) {
        text = mp_obj_new_str((const char *)data, shown);
    } else {
        text = aot_call1(mp_load_global(MP_QSTR_repr), mp_obj_new_bytes(data, shown));
    }
    if (shown < length) {
        text = mp_binary_op(MP_BINARY_OP_ADD, text,
                            mp_binary_op(MP_BINARY_OP_MODULO, aot_new_text("... (%d bytes)"),
                                         mp_obj_new_int_from_uint(length)));
    }
    aot_call_out(aot_instance(self->instance), self->on_log, 1, &text);
}

/* exchange(buffer, max_payload, max_log, on_log): the exchange of the instance in `buffer`;
 * the imports it serves call it once the instance links it in their place */
static mp_obj_t aot_exchange_new(size_t n_args, const mp_obj_t *args) {
    aot_instance_t *inst = aot_instance(args[0]);
    mp_int_t max_payload = mp_obj_get_int(args[1]);
    mp_int_t max_log = mp_obj_get_int(args[2]);
    if (max_payload < 0 || max_log < 0) {
        mp_raise_ValueError(MP_ERROR_TEXT("max_payload and max_log must be 0 or more bytes"));
    }
    aot_exchange_t *self = mp_obj_malloc(aot_exchange_t, (mp_obj_type_t *)&aot_exchange_type);
    self->instance = args[0];
    self->memory = AOT_MEMORY(inst);
    self->operation = self->payload = mp_const_empty_bytes;
    self->response = self->error = mp_const_none;
    self->host_response = self->host_error = mp_const_empty_bytes;
    self->on_log = args[3];
    self->status = mp_const_none;
    self->max_payload = (mp_uint_t)max_payload;
    self->max_log = (mp_uint_t)max_log;
    self->oversize = 0;
    inst->exchange = MP_OBJ_FROM_PTR(self);
    return inst->exchange;
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(aot_exchange_new_obj, 4, 4, aot_exchange_new);

/* begin(operation, payload): the state of a new call (wapc.Exchange.begin) */
static mp_obj_t aot_exchange_begin(mp_obj_t self_in, mp_obj_t operation, mp_obj_t payload) {
    aot_exchange_t *self = MP_OBJ_TO_PTR(self_in);
    aot_bytes_len(operation);  /* refused now rather than inside the guest */
    aot_bytes_len(payload);
    self->operation = operation;
    self->payload = payload;
    self->response = self->error = mp_const_none;
    self->host_response = self->host_error = mp_const_empty_bytes;
    self->oversize = 0;
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_3(aot_exchange_begin_obj, aot_exchange_begin);

/* call(guest_call, operation, payload): one exchange (wapc.Exchange.call): begin(), then
 * guest_call(len(operation), len(payload)); the answer, or None when the call failed. */
static mp_obj_t aot_exchange_call(size_t n_args, const mp_obj_t *args) {
    aot_exchange_t *self = MP_OBJ_TO_PTR(args[0]);
    mp_obj_t lengths[2] = {
        mp_obj_new_int_from_uint(aot_bytes_len(args[2])),
        mp_obj_new_int_from_uint(aot_bytes_len(args[3])),
    };
    aot_exchange_begin(args[0], args[2], args[3]);
    mp_obj_t status = mp_call_function_n_kw(args[1], 2, 0, lengths);
    self->status = status;
    if (status != MP_OBJ_NEW_SMALL_INT(1) || self->oversize) {
        return mp_const_none;
    }
    return self->response == mp_const_none ? mp_const_empty_bytes : self->response;
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(aot_exchange_call_obj, 4, 4, aot_exchange_call);

static void aot_exchange_attr(mp_obj_t self_in, qstr attr, mp_obj_t *dest) {
    aot_exchange_t *self = MP_OBJ_TO_PTR(self_in);
    mp_obj_t *field = NULL;
    if (attr == MP_QSTR_host_response) {
        field = &self->host_response;
    } else if (attr == MP_QSTR_host_error) {
        field = &self->host_error;
    }
    if (dest[0] == MP_OBJ_SENTINEL) {  /* store or delete: only the host call's outcome */
        if (field && dest[1] != MP_OBJ_NULL) {
            aot_bytes_len(dest[1]);
            *field = dest[1];
            dest[0] = MP_OBJ_NULL;
        }
        return;
    }
    if (dest[0] != MP_OBJ_NULL) {
        return;
    }
    if (field) {
        dest[0] = *field;
    } else if (attr == MP_QSTR_response) {
        dest[0] = self->response;
    } else if (attr == MP_QSTR_error) {
        dest[0] = self->error;
    } else if (attr == MP_QSTR_oversize) {
        dest[0] = mp_obj_new_int_from_uint(self->oversize);
    } else if (attr == MP_QSTR_status) {
        dest[0] = self->status;
    } else if (attr == MP_QSTR_max_payload) {
        dest[0] = mp_obj_new_int_from_uint(self->max_payload);
    } else if (attr == MP_QSTR_max_log) {
        dest[0] = mp_obj_new_int_from_uint(self->max_log);
    } else if (attr == MP_QSTR_begin) {
        dest[0] = MP_OBJ_FROM_PTR(&aot_exchange_begin_obj);
        dest[1] = self_in;
    } else if (attr == MP_QSTR_call) {
        dest[0] = MP_OBJ_FROM_PTR(&aot_exchange_call_obj);
        dest[1] = self_in;
    }
}

static void aot_exchange_init(void) {
    aot_exchange_type.base.type = (void *)&mp_type_type;
    aot_exchange_type.flags = MP_TYPE_FLAG_NONE;
    aot_exchange_type.name = MP_QSTR_Exchange;
    MP_OBJ_TYPE_SET_SLOT(&aot_exchange_type, attr, aot_exchange_attr, 0);
    mp_store_global(MP_QSTR_exchange, MP_OBJ_FROM_PTR(&aot_exchange_new_obj));
}
