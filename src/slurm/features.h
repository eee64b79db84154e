// Node features as Slurm's --constraint, --prefer and --batch name them: names joined by & (and)
// and | (or), grouped by parentheses, counted ("gpu*2": at least two of the job's nodes have it),
// and one bracketed group: a matching or ("[rack1|rack2]": all the nodes have the same one) or
// several counts ("[knl*4&haswell*1]").
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace gwang::slurm {

// A rule over one node's features, in conjunctive form: every clause lists names of which the
// node has at least one. No clauses: any node.
using FeatureClauses = std::vector<std::vector<std::string>>;

// One way for a job's nodes to meet a constraint: every node meets `all`, and, in order, the
// next `count` nodes each meet their counted rule as well.
struct FeatureWay {
  FeatureClauses all;
  std::vector<std::pair<int, FeatureClauses>> counted;
  bool operator==(const FeatureWay&) const = default;
};

// A constraint's ways, any one of which will do (more than one only for a matching or). Errors
// say what is wrong and where ("at character 5: ..."); `option` names it ("--constraint").
Result<std::vector<FeatureWay>> parse_constraint(std::string_view text, std::string_view option = "--constraint");

// --batch's list: names joined by & and |, without parentheses, brackets or counts.
Result<FeatureClauses> parse_feature_list(std::string_view text);

// Whether a node with the features `have` meets the clauses (each shares a name with them).
bool meets(const FeatureClauses& clauses, const std::vector<std::string>& have);

// Every feature name a constraint mentions, once each, in order of first mention.
std::vector<std::string> feature_names(const std::vector<FeatureWay>& ways);

// A node's features as its configuration gives them ("a100,ib"): names, each once.
Result<std::vector<std::string>> parse_node_features(std::string_view text);
bool valid_feature_name(std::string_view name);

}  // namespace gwang::slurm
