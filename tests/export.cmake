# `td3d export` (docs/export.md): every format against td3d's own actions, and the refusals.
# Included from tests/CMakeLists.txt.

# The writers' unit test links the export library too.
target_link_libraries(test_export PRIVATE td3_export)
