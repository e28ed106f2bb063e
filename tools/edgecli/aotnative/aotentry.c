/* The Python face of a translated module, included last by the glue file: an instance lives
 * in a bytearray the engine owns (MicroPython's collector scans it, so the linked callables
 * and the memory it points to stay alive with it). */

static aot_instance_t *aot_instance(mp_obj_t buffer) {
    mp_buffer_info_t info;
    mp_get_buffer_raise(buffer, &info, MP_BUFFER_RW);
    if (info.len < sizeof(aot_instance_t)) {
        mp_raise_ValueError(MP_ERROR_TEXT("instance buffer too small"));
    }
    return (aot_instance_t *)info.buf;
}

static mp_obj_t aot_size(void) {
    return mp_obj_new_int(sizeof(aot_instance_t));
}
static MP_DEFINE_CONST_FUN_OBJ_0(aot_size_obj, aot_size);

/* The stack check's starting point for an entry into the guest: see aotrt.c */
static void aot_enter(aot_instance_t *inst) {
    char here;
    aot_stack_floor = &here - inst->stack_bytes;
    aot_stack_approved = &here;
    aot_stack_probe = inst->stack_probe;
    wasm_rt_call_stack_depth = 0;
}

/* instantiate(buffer, imports, memory_pages, stack_bytes): links, caps memory, runs the data
 * and element segments */
static mp_obj_t aot_instantiate(size_t n_args, const mp_obj_t *args) {
    aot_instance_t *inst = aot_instance(args[0]);
    size_t count;
    mp_obj_t *imports;
    mp_obj_get_array(args[1], &count, &imports);
    for (size_t i = 0; i < count && i < sizeof(inst->imports) / sizeof(mp_obj_t); i++) {
        inst->imports[i] = imports[i];
    }
    aot_max_pages = mp_obj_get_int(args[2]);
    inst->stack_bytes = mp_obj_get_int(args[3]);
    inst->stack_probe = mp_fun_table.getiter(mp_const_empty_tuple, NULL);
    aot_enter(inst);
    AOT_INSTANTIATE(inst);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(aot_instantiate_obj, 4, 4, aot_instantiate);

/* One entry into the guest: the stack check's and the deadline's starting points, then the
 * export `index` with `args` (as many as it takes) */
static mp_obj_t aot_run(aot_instance_t *inst, mp_int_t index, size_t n_args,
                        const mp_obj_t *args) {
    if (index < 0 || (size_t)index >= sizeof(aot_arity) || n_args != aot_arity[index]) {
        mp_raise_TypeError(MP_ERROR_TEXT("no such export, or the wrong number of arguments"));
    }
    aot_clock_start(inst);
    aot_enter(inst);
    return aot_export(inst, index, args);
}

/* clock(buffer, deadline_ms, ticks_ms, ticks_diff): how long one entry may run (0: no limit),
 * and the board's clock to tell */
static mp_obj_t aot_clock(size_t n_args, const mp_obj_t *args) {
    aot_instance_t *inst = aot_instance(args[0]);
    inst->deadline_ms = mp_obj_get_int(args[1]);
    inst->ticks_ms = args[2];
    inst->ticks_diff = args[3];
    aot_clock_start(inst);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(aot_clock_obj, 4, 4, aot_clock);

/* call(buffer, export_index, *args): one entry into the guest */
static mp_obj_t aot_call(size_t n_args, const mp_obj_t *args) {
    return aot_run(aot_instance(args[0]), mp_obj_get_int(args[1]), n_args - 2, args + 2);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(aot_call_obj, 2, 12, aot_call);

/* function(buffer, export_index): the export as a callable, an entry into the guest per call
 * with no Python frame of its own */
typedef struct {
    mp_obj_base_t base;
    mp_obj_t buffer;
    mp_int_t index;
} aot_function_t;

mp_obj_full_type_t aot_function_type;

static mp_obj_t aot_function_call(mp_obj_t self_in, size_t n_args, size_t n_kw,
                                  const mp_obj_t *args) {
    aot_function_t *self = MP_OBJ_TO_PTR(self_in);
    if (n_kw) {
        mp_raise_TypeError(MP_ERROR_TEXT("an export takes no keyword arguments"));
    }
    return aot_run(aot_instance(self->buffer), self->index, n_args, args);
}

static mp_obj_t aot_function(mp_obj_t buffer, mp_obj_t index) {
    aot_instance(buffer);
    aot_function_t *self = mp_obj_malloc(aot_function_t, (mp_obj_type_t *)&aot_function_type);
    self->buffer = buffer;
    self->index = mp_obj_get_int(index);
    return MP_OBJ_FROM_PTR(self);
}
static MP_DEFINE_CONST_FUN_OBJ_2(aot_function_obj, aot_function);

static mp_obj_t aot_memory(mp_obj_t buffer) {
    wasm_rt_memory_t *memory = AOT_MEMORY(aot_instance(buffer));
    return mp_obj_new_bytearray_by_ref(memory->size, memory->data);
}
static MP_DEFINE_CONST_FUN_OBJ_1(aot_memory_obj, aot_memory);

static mp_obj_t aot_free(mp_obj_t buffer) {
    AOT_FREE(aot_instance(buffer));
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(aot_free_obj, aot_free);

mp_obj_t mpy_init(mp_obj_fun_bc_t *self, size_t n_args, size_t n_kw, mp_obj_t *args) {
    MP_DYNRUNTIME_INIT_ENTRY
    mp_store_global(MP_QSTR_instance_size, MP_OBJ_FROM_PTR(&aot_size_obj));
    mp_store_global(MP_QSTR_instantiate, MP_OBJ_FROM_PTR(&aot_instantiate_obj));
    mp_store_global(MP_QSTR_call, MP_OBJ_FROM_PTR(&aot_call_obj));
    mp_store_global(MP_QSTR_memory, MP_OBJ_FROM_PTR(&aot_memory_obj));
    mp_store_global(MP_QSTR_free, MP_OBJ_FROM_PTR(&aot_free_obj));
    mp_store_global(MP_QSTR_clock, MP_OBJ_FROM_PTR(&aot_clock_obj));
    mp_store_global(MP_QSTR_function, MP_OBJ_FROM_PTR(&aot_function_obj));
    aot_function_type.base.type = (void *)&mp_type_type;
    aot_function_type.flags = MP_TYPE_FLAG_NONE;
    aot_function_type.name = MP_QSTR_Function;
    MP_OBJ_TYPE_SET_SLOT(&aot_function_type, call, aot_function_call, 0);
    aot_exchange_init();
    /* "module.name" of each import and the name of each export, a line each, in the order
     * instantiate and call index them */
    mp_store_global(MP_QSTR_imports, mp_obj_new_str(AOT_IMPORTS, sizeof(AOT_IMPORTS) - 1));
    mp_store_global(MP_QSTR_exports, mp_obj_new_str(AOT_EXPORTS, sizeof(AOT_EXPORTS) - 1));
    /* the imports the exchange serves in C, linked to the exchange object */
    mp_store_global(MP_QSTR_served, mp_obj_new_str(AOT_SERVED, sizeof(AOT_SERVED) - 1));
    mp_store_global(MP_QSTR_module_sha256,
        mp_obj_new_str(AOT_MODULE_SHA256, sizeof(AOT_MODULE_SHA256) - 1));
    MP_DYNRUNTIME_INIT_EXIT
}
