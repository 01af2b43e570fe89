"""Names vulture cannot see used (tests/test_code_health.py): onnxruntime's public API that users
call, kernels and hooks reached by name (the registry, the generated plan, numba dispatch),
and ONNX attributes a kernel takes by spec without needing them. Regenerate with
``vulture src tests --make-whitelist`` (same flags as the test) and review every new line:
a name that is really unused is deleted from the code, not listed here."""
# ruff: noqa

MEMORY_EFFICIENT  # unused variable
ORT_ENABLE_BASIC  # unused variable
ORT_ENABLE_LAYOUT  # unused variable
ORT_PARALLEL  # unused variable
PRIORITY_BASED  # unused variable
_.__module__  # unused attribute
_.__qualname__  # unused attribute
_.__signature__  # unused attribute
_.enable_cpu_memory_arena  # unused attribute
_.enter  # unused method
_.exc_text  # unused attribute
_.execution_mode  # unused attribute
_.from_function  # unused method
_.get_cache_path  # unused method
_.get_disambiguator  # unused method
_.get_next  # unused method
_.get_outputs_as_ortvaluevector  # unused method
_.get_session_options  # unused method
_.get_source_stamp  # unused method
_.graph_description  # unused attribute
_.graph_name  # unused attribute
_.input_size  # unused attribute
_.inter_op_num_threads  # unused attribute
_.is_sparse_tensor  # unused method
_.leave  # unused method
_.log_verbosity_level  # unused attribute
_.only_execute_path_to_fetches  # unused attribute
_.synchronize_inputs  # unused method
bias_act_parallel  # unused function
bias_act_serial  # unused function
chunk_size  # unused variable
consumed_inputs  # unused variable
context  # unused variable
create_app  # unused function
depthwise_parallel  # unused function
depthwise_serial  # unused function
div  # unused variable
enable_mem_pattern  # unused variable
enable_mem_reuse  # unused variable
epilogue_parallel  # unused function
epilogue_serial  # unused function
execution_mode  # unused variable
execution_order  # unused variable
extensions  # unused variable
inter_op_num_threads  # unused variable
is_test  # unused variable
k_norm_epsilon  # unused variable
kv_cache_bit_width  # unused variable
layer_norm_parallel  # unused function
layer_norm_serial  # unused function
locale  # unused variable
log_verbosity_level  # unused variable
mask_index_type  # unused variable
multi_class  # unused variable
nodes_hitrates  # unused variable
nodes_hitrates_as_tensor  # unused variable
output_sequence  # unused variable
pow_  # unused variable
pytestmark  # unused variable
q_norm_epsilon  # unused variable
qk_norm_epsilon  # unused variable
set_enabled  # unused function
softmax_parallel  # unused function
softmax_serial  # unused function
typingctx  # unused variable
unary_parallel  # unused function
unary_serial  # unused function
use_deterministic_compute  # unused variable
use_per_session_threads  # unused variable
