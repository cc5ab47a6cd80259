// server/dashboard.h — the web dashboard's files (web/), embedded in the
// binary at build time (cmake/embed_files.cmake): index.html, app.js,
// style.css and the chart library (uPlot, from npm). Served without a key:
// they hold no data; the page asks for an API key and reads the API.
//
// Thread safety: immutable; any thread may call.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "server/http_server.h"

namespace pgkeep {

struct EmbeddedFile {
  const char* path;  // URL path: "/", "/app.js", ...
  const char* content_type;
  const char* data;
  size_t size;
};

// Generated: every embedded file.
const std::vector<EmbeddedFile>& DashboardFiles();

// The file served at `path`, or null.
const StaticFile* DashboardFile(const std::string& path);

}  // namespace pgkeep
