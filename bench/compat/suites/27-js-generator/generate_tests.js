module.exports = () => [{ vars: {}, assert: [{ type: "contains", value: "x" }] }];
