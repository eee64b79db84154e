#include "slurm/features.h"

#include <algorithm>
#include <cctype>
#include <memory>

namespace gwang::slurm {

namespace {

constexpr std::size_t kMaxClauses = 256;  // an or of ands spelled out: beyond this, too complex

// The constraint as written: a name, a group in parentheses, a bracketed group, or an and/or of
// those; `count` > 0 where "*N" follows a name or a group.
struct Expr {
  enum class Kind { Name, Group, Bracket, And, Or } kind = Kind::Name;
  std::string name;
  std::vector<std::unique_ptr<Expr>> parts;
  int count = 0;
};

class Parser {
 public:
  Parser(std::string_view text, std::string_view option) : text_(text), option_(option) {}

  Result<std::unique_ptr<Expr>> whole() {
    if (text_.empty()) return error("a constraint is empty");
    auto e = expr();
    if (!e) return e;
    if (at_ < text_.size()) return error("'" + std::string(1, text_[at_]) + "' is not expected here");
    return e;
  }

 private:
  tl::unexpected<Error> error(const std::string& what) const {
    return fail("Invalid " + std::string(option_) + " specification '" + std::string(text_) + "': " + what +
                " (at character " + std::to_string(at_ + 1) + ")");
  }

  bool take(char c) {
    if (at_ < text_.size() && text_[at_] == c) {
      ++at_;
      return true;
    }
    return false;
  }

  // factor (op factor)*: a mix of & and | without parentheses is refused, as its meaning would
  // depend on precedence.
  Result<std::unique_ptr<Expr>> expr() {
    auto first = factor();
    if (!first) return first;
    if (at_ >= text_.size() || (text_[at_] != '&' && text_[at_] != '|' && text_[at_] != ',')) return first;
    auto out = std::make_unique<Expr>();
    out->kind = text_[at_] == '|' ? Expr::Kind::Or : Expr::Kind::And;
    out->parts.push_back(std::move(*first));
    while (at_ < text_.size() && (text_[at_] == '&' || text_[at_] == '|' || text_[at_] == ',')) {
      const Expr::Kind k = text_[at_] == '|' ? Expr::Kind::Or : Expr::Kind::And;
      if (k != out->kind) return error("& and | are mixed: group them with parentheses");
      ++at_;
      auto next = factor();
      if (!next) return next;
      out->parts.push_back(std::move(*next));
    }
    return out;
  }

  Result<std::unique_ptr<Expr>> factor() {
    auto out = std::make_unique<Expr>();
    if (take('(') || (at_ < text_.size() && text_[at_] == '[')) {
      const bool bracket = at_ < text_.size() && text_[at_] == '[' && take('[');
      if (bracket && depth_ > 0) return error("brackets inside parentheses or brackets");
      ++depth_;
      auto inner = expr();
      --depth_;
      if (!inner) return inner;
      if (!take(bracket ? ']' : ')')) return error(std::string("'") + (bracket ? ']' : ')') + "' is missing");
      out->kind = bracket ? Expr::Kind::Bracket : Expr::Kind::Group;
      out->parts.push_back(std::move(*inner));
      if (bracket) return out;  // a count goes inside the brackets
    } else {
      const std::size_t start = at_;
      while (at_ < text_.size() && valid_feature_name(text_.substr(at_, 1))) ++at_;
      if (at_ == start)
        return error(at_ < text_.size() ? "a feature name is expected" : "it ends where a name is expected");
      out->name = std::string(text_.substr(start, at_ - start));
    }
    if (take('*')) {
      const std::size_t start = at_;
      long count = 0;
      while (at_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[at_])) && count <= 1'000'000)
        count = count * 10 + (text_[at_++] - '0');
      if (at_ == start || count < 1 || count > 1'000'000) return error("a count must be a number from 1");
      out->count = static_cast<int>(count);
    }
    return out;
  }

  std::string_view text_, option_;
  std::size_t at_ = 0;
  int depth_ = 0;
};

bool plain(const Expr& e) {
  if (e.count > 0 || e.kind == Expr::Kind::Bracket) return false;
  return std::all_of(e.parts.begin(), e.parts.end(), [](const auto& p) { return plain(*p); });
}

Result<FeatureClauses> clauses_of(const Expr& e) {
  switch (e.kind) {
    case Expr::Kind::Name:
      return FeatureClauses{{e.name}};
    case Expr::Kind::Group:
      return clauses_of(*e.parts.front());
    case Expr::Kind::And: {
      FeatureClauses out;
      for (const auto& p : e.parts) {
        auto c = clauses_of(*p);
        if (!c) return c;
        out.insert(out.end(), c->begin(), c->end());
      }
      return out;
    }
    case Expr::Kind::Or: {
      // (a & b) | c == (a | c) & (b | c): every clause of one side joined with every clause of the other.
      FeatureClauses out{{}};
      for (const auto& p : e.parts) {
        auto c = clauses_of(*p);
        if (!c) return c;
        FeatureClauses next;
        for (const auto& left : out) {
          for (const auto& right : *c) {
            std::vector<std::string> clause = left;
            for (const std::string& n : right) {
              if (std::find(clause.begin(), clause.end(), n) == clause.end()) clause.push_back(n);
            }
            next.push_back(std::move(clause));
          }
        }
        if (next.size() > kMaxClauses) return fail("the constraint is too complex (more than 256 clauses)");
        out = std::move(next);
      }
      return out;
    }
    case Expr::Kind::Bracket:
      break;
  }
  return fail("brackets go at the constraint's top level");
}

void join(FeatureWay& into, const FeatureWay& more) {
  into.all.insert(into.all.end(), more.all.begin(), more.all.end());
  into.counted.insert(into.counted.end(), more.counted.begin(), more.counted.end());
}

Result<std::vector<FeatureWay>> ways_of(const Expr& e, bool in_bracket, std::string_view option);

// A factor of an and: a plain rule, a counted one, or the bracketed group (its ways).
Result<std::vector<FeatureWay>> factor_ways(const Expr& f, bool in_bracket, std::string_view option) {
  const std::string bad = "Invalid " + std::string(option) + " specification: ";
  if (f.kind == Expr::Kind::Bracket) {
    if (in_bracket) return fail(bad + "brackets inside brackets");
    return ways_of(*f.parts.front(), true, option);
  }
  const Expr& inner = f.kind == Expr::Kind::Group ? *f.parts.front() : f;
  // What is counted (or not) must itself be plain: a name, or a group without counts or brackets.
  const bool plain_inside = f.kind == Expr::Kind::Group ? plain(inner) : f.kind == Expr::Kind::Name || plain(f);
  if (!plain_inside) return fail(bad + "counts and brackets go at the constraint's top level");
  auto c = clauses_of(inner);
  if (!c) return fail(bad + c.error().message);
  FeatureWay way;
  if (f.count > 0) {
    way.counted.emplace_back(f.count, std::move(*c));
  } else {
    way.all = std::move(*c);
  }
  return std::vector<FeatureWay>{std::move(way)};
}

Result<std::vector<FeatureWay>> ways_of(const Expr& e, bool in_bracket, std::string_view option) {
  const std::string bad = "Invalid " + std::string(option) + " specification: ";
  if (e.kind == Expr::Kind::Or && !plain(e)) {
    // Counts and brackets under an or: only as a bracket's alternatives (a matching or).
    if (!in_bracket) return fail(bad + "counts go with & (or inside brackets), not with |");
    std::vector<FeatureWay> out;
    for (const auto& p : e.parts) {
      auto w = factor_ways(*p, true, option);
      if (!w) return w;
      out.insert(out.end(), w->begin(), w->end());
    }
    return out;
  }
  if (e.kind == Expr::Kind::Or && in_bracket) {
    // A matching or: each alternative one way.
    std::vector<FeatureWay> out;
    for (const auto& p : e.parts) {
      auto c = clauses_of(*p);
      if (!c) return fail(bad + c.error().message);
      out.push_back({std::move(*c), {}});
    }
    return out;
  }
  if (e.kind != Expr::Kind::And) return factor_ways(e, in_bracket, option);
  std::vector<FeatureWay> out{FeatureWay{}};
  bool bracketed = false;
  for (const auto& p : e.parts) {
    if (p->kind == Expr::Kind::Bracket) {
      if (bracketed) return fail(bad + "one bracketed group at most");
      bracketed = true;
    }
    auto w = factor_ways(*p, in_bracket, option);
    if (!w) return w;
    std::vector<FeatureWay> next;
    for (const FeatureWay& have : out) {
      for (const FeatureWay& more : *w) {
        next.push_back(have);
        join(next.back(), more);
      }
    }
    out = std::move(next);
  }
  return out;
}

}  // namespace

bool valid_feature_name(std::string_view name) {
  if (name.empty()) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' || c == ':';
  });
}

Result<std::vector<FeatureWay>> parse_constraint(std::string_view text, std::string_view option) {
  auto e = Parser(text, option).whole();
  if (!e) return tl::unexpected(e.error());
  return ways_of(**e, false, option);
}

Result<FeatureClauses> parse_feature_list(std::string_view text) {
  auto e = Parser(text, "--batch").whole();
  if (!e) return tl::unexpected(e.error());
  const Expr& x = **e;
  for (const auto& p : x.parts) {
    if (p->kind != Expr::Kind::Name || p->count > 0)
      return fail("Invalid --batch specification '" + std::string(text) + "': names joined by & or | only");
  }
  if (x.count > 0)
    return fail("Invalid --batch specification '" + std::string(text) + "': names joined by & or | only");
  return clauses_of(x);
}

bool meets(const FeatureClauses& clauses, const std::vector<std::string>& have) {
  return std::all_of(clauses.begin(), clauses.end(), [&](const std::vector<std::string>& clause) {
    return std::any_of(clause.begin(), clause.end(),
                       [&](const std::string& f) { return std::find(have.begin(), have.end(), f) != have.end(); });
  });
}

std::vector<std::string> feature_names(const std::vector<FeatureWay>& ways) {
  std::vector<std::string> out;
  const auto add = [&out](const FeatureClauses& clauses) {
    for (const auto& clause : clauses) {
      for (const std::string& n : clause) {
        if (std::find(out.begin(), out.end(), n) == out.end()) out.push_back(n);
      }
    }
  };
  for (const FeatureWay& w : ways) {
    add(w.all);
    for (const auto& c : w.counted) add(c.second);
  }
  return out;
}

Result<std::vector<std::string>> parse_node_features(std::string_view text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size() && !text.empty()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    const std::string_view name = text.substr(start, comma - start);
    if (!valid_feature_name(name)) return fail("'" + std::string(name) + "' is not a feature name");
    if (std::find(out.begin(), out.end(), name) == out.end()) out.emplace_back(name);
    start = comma + 1;
  }
  return out;
}

}  // namespace gwang::slurm
