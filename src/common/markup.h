// common/markup.h — text made safe inside HTML and XML elements and
// attribute values (the drill report's HTML, S3 request bodies).
#pragma once

#include <string>
#include <string_view>

namespace pgkeep {

// & < > " ' as entities; everything else as it is.
std::string EscapeMarkup(std::string_view text);

}  // namespace pgkeep
