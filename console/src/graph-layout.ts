import dagre from '@dagrejs/dagre';

export interface GraphNode {
  key: string;
  label: string;
  sublabel?: string;
}

export interface PlacedNode extends GraphNode {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface PlacedEdge {
  from: string;
  to: string;
  points: { x: number; y: number }[];
}

export interface Layout {
  nodes: PlacedNode[];
  edges: PlacedEdge[];
  width: number;
  height: number;
}

export const NODE_WIDTH = 190;
export const NODE_HEIGHT = 54;

/**
 * Places a plan's items left to right in layers (dagre's layered layout): each item after what it
 * depends on, edges routed between them. Coordinates are the nodes' top-left corners.
 */
export function layoutPlan(nodes: GraphNode[], edges: { from: string; to: string }[]): Layout {
  const graph = new dagre.graphlib.Graph();
  graph.setGraph({ rankdir: 'LR', nodesep: 24, ranksep: 56, marginx: 12, marginy: 12 });
  graph.setDefaultEdgeLabel(() => ({}));
  for (const node of nodes) graph.setNode(node.key, { width: NODE_WIDTH, height: NODE_HEIGHT });
  const known = new Set(nodes.map((n) => n.key));
  const drawn = edges.filter((e) => known.has(e.from) && known.has(e.to));
  for (const edge of drawn) graph.setEdge(edge.from, edge.to);
  dagre.layout(graph);
  const placed = nodes.map((node) => {
    const { x, y } = graph.node(node.key);
    return { ...node, x: x - NODE_WIDTH / 2, y: y - NODE_HEIGHT / 2, width: NODE_WIDTH, height: NODE_HEIGHT };
  });
  const { width = 0, height = 0 } = graph.graph();
  return {
    nodes: placed,
    edges: drawn.map((edge) => ({ ...edge, points: graph.edge(edge.from, edge.to).points })),
    width,
    height,
  };
}
