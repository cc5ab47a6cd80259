#include "server/daemon_view.h"

namespace pgkeep {

DaemonView::DaemonView(int64_t started) {
  auto first = std::make_shared<DaemonSnapshot>();
  first->started = started;
  current_ = std::move(first);
}

std::shared_ptr<const DaemonSnapshot> DaemonView::Get() const {
  std::lock_guard lock(mu_);
  return current_;
}

void DaemonView::Update(const std::function<void(DaemonSnapshot&)>& change) {
  std::lock_guard lock(mu_);
  auto next = std::make_shared<DaemonSnapshot>(*current_);
  change(*next);
  current_ = std::move(next);
}

}  // namespace pgkeep
